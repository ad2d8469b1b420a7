package wizard

import (
	"strings"
	"testing"

	"github.com/vela-appliance/vela/installer/config"
)

// FuzzMachineCommand feeds operator lines to the line-mode machines screen:
// no input panics, and whatever it does, the validator still runs over it.
func FuzzMachineCommand(f *testing.F) {
	for _, s := range []string{"add 52:54:00:12:34:56", "role 1 member", "addr 2 10.0.0.9", "rm 1", "name 1 x", "disk 3 /dev/sda", "role 9 both", "rm -1", "list"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		m := New(Config{Host: fakeHost{}})
		m.a.Machines = []config.Machine{{Name: "a", MAC: "52:54:00:00:00:01", Role: config.RoleMember}}
		extra := []Found{{MAC: "52:54:00:00:00:02"}}
		if f := strings.Fields(line); len(f) > 0 {
			m.machineCommand(f, extra)
		}
		_ = m.a.Diagnostics()
		if _, err := Marshal(m.a.Config()); err != nil {
			t.Fatalf("after %q: %v", line, err)
		}
	})
}

// FuzzAnswers: any typed answer round-trips through the saved YAML to the
// same config the validator saw.
func FuzzAnswers(f *testing.F) {
	f.Add("10.0.0.1/24", "10.0.0.100-10.0.0.199", "web", "3", "console=ttyS0")
	f.Add("", "x", "", "-1", "a: b")
	f.Fuzz(func(t *testing.T, addr, pool, cluster, nodes, args string) {
		a := Prefill(nil)
		a.Interface, a.Address, a.DHCPMode, a.Pool, a.Cluster, a.Nodes, a.KernelArgs, a.Tenant = "eth1", addr, config.DHCPFull, pool, cluster, nodes, args, "t"
		b, err := Marshal(a.Config())
		if err != nil {
			t.Fatal(err)
		}
		got, _, diags := config.Parse("fuzz.yaml", b)
		if got == nil {
			t.Fatalf("saved YAML does not decode: %v\n%s", diags, b)
		}
	})
}
