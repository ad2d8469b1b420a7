package wizard

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vela-appliance/vela/installer/config"
)

// TestAccessibleLab answers the line-mode questions for a lab config, with
// a wrong answer re-asked, a step back, and a discovered machine adopted.
func TestAccessibleLab(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lab.yaml")
	script := strings.Join([]string{
		"2",            // target: lab
		"",             // name: keep "lab"... (vela until lab defaults apply)
		"",             // bridge
		"10.77.0.0/24", // address: the network address, refused
		"",             // address: keep
		"<",            // back to the target screen
		"", "",         // target, name again
		"", "", "", "", "", "", // bridge, address, mode, pool, gateway, dns
		"", "", // image, kernel args
		"role 4 hypervisor", // adopt the discovered machine
		"done",
		testKey, "", // ssh keys
		"",                     // key file
		"", "demo", "web", "2", // admin, tenant, cluster, nodes
		path,
	}, "\n") + "\n"
	var out bytes.Buffer
	got, err := RunAccessible(context.Background(), testConfig(&fakeDiscoverer{found: []Found{{MAC: "52:54:00:aa:bb:cc", Arch: "bios"}}}),
		strings.NewReader(script), &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got != path {
		t.Fatalf("saved to %q, want %q", got, path)
	}
	if !strings.Contains(out.String(), "error: network.address: 10.77.0.0 is the subnet's network or broadcast address") {
		t.Errorf("the refused address was not explained with the validator's words:\n%s", out.String())
	}
	c, _, diags := config.Load(path)
	if diags.HasErrors() {
		t.Fatalf("saved config does not validate:\n%s", diags)
	}
	if c.Lab == nil || len(c.Machines) != 4 || c.Machines[3].Role != config.RoleHypervisor || c.Tenant.Cluster.Nodes != 2 {
		t.Errorf("saved config is not what was answered: %+v machines %+v", c, c.Machines)
	}
	if strings.Contains(out.String(), "\x1b[") {
		t.Error("line mode wrote terminal escape sequences")
	}
}

func TestAccessibleEndOfInputAborts(t *testing.T) {
	_, err := RunAccessible(context.Background(), testConfig(nil), strings.NewReader("2\n"), &bytes.Buffer{})
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("err = %v, want ErrAborted", err)
	}
}
