package plan

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/installer/config"
)

var update = flag.Bool("update", false, "rewrite golden files")

func load(t *testing.T, lab bool) *config.Config {
	t.Helper()
	cfg, _, diags := config.Parse("example", config.Example(lab))
	if diags.HasErrors() {
		t.Fatal(diags.Errors())
	}
	return cfg
}

func TestGoldenPlans(t *testing.T) {
	for _, tc := range []struct {
		name string
		lab  bool
	}{{"rack", false}, {"lab", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Print(&buf, Make(load(t, tc.lab))); err != nil {
				t.Fatal(err)
			}
			path := "testdata/" + tc.name + ".plan"
			if *update {
				os.WriteFile(path, buf.Bytes(), 0o644)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), buf.String()); diff != "" {
				t.Errorf("plan changed (-want +got), run go test -update if intended:\n%s", diff)
			}
		})
	}
}

func TestPlanShape(t *testing.T) {
	cfg := load(t, false)
	p := Make(cfg)
	if diff := cmp.Diff(p, Make(load(t, false))); diff != "" {
		t.Fatalf("plan is not deterministic:\n%s", diff)
	}
	ids := map[string]bool{}
	index := map[Kind]int{}
	for i, s := range p.Steps {
		if ids[s.ID] {
			t.Errorf("duplicate step ID %s", s.ID)
		}
		ids[s.ID] = true
		if _, ok := index[s.Kind]; !ok {
			index[s.Kind] = i
		}
	}
	// Order that the install depends on.
	for _, pair := range [][2]Kind{{Images, BootServices}, {Secrets, Ignition}, {Ignition, BootServices},
		{BootServices, MachineBoot}, {MachineBoot, Bootstrap}, {Bootstrap, Join}, {Join, Hypervisor},
		{Hypervisor, Tenant}, {Tenant, TenantCluster}, {TenantCluster, Health}} {
		if index[pair[0]] >= index[pair[1]] {
			t.Errorf("%s must come before %s", pair[0], pair[1])
		}
	}
	// Counts follow the machines: 4 machines, 3 members, 4 hypervisors.
	count := map[Kind]int{}
	for _, s := range p.Steps {
		count[s.Kind]++
	}
	want := map[Kind]int{Ignition: 4, MachineBoot: 4, Bootstrap: 1, Join: 2, Hypervisor: 4, LabNetwork: 0, LabVMs: 0}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %d steps, want %d", k, count[k], n)
		}
	}
	if !ids["bootstrap/node1"] {
		t.Error("the first member in file order must bootstrap")
	}
}

func TestHashFollowsConfig(t *testing.T) {
	a, b := load(t, true), load(t, true)
	if Hash(a) != Hash(b) {
		t.Fatal("same config, different hash")
	}
	b.Lab.Memory *= 2
	if Hash(a) == Hash(b) {
		t.Fatal("different config, same hash")
	}
}

func TestNoTenantNoClusterSteps(t *testing.T) {
	cfg := load(t, false)
	cfg.Tenant = config.Tenant{}
	for _, s := range Make(cfg).Steps {
		if s.Kind == Tenant || s.Kind == TenantCluster {
			t.Errorf("unexpected step %s", s.ID)
		}
	}
}

func TestUntil(t *testing.T) {
	p := Make(load(t, true))
	cut, err := p.Until("machine-boot")
	if err != nil {
		t.Fatal(err)
	}
	if last := cut.Steps[len(cut.Steps)-1].ID; last != "machine-boot/lab-3" || cut.Hash != p.Hash {
		t.Errorf("cut ends at %s", last)
	}
	if cut, _ := p.Until("ignition/lab-1"); cut.Steps[len(cut.Steps)-1].ID != "ignition/lab-1" {
		t.Errorf("cut by ID ends at %s", cut.Steps[len(cut.Steps)-1].ID)
	}
	if _, err := p.Until("nope"); err == nil || !strings.Contains(err.Error(), "lab-network, images") {
		t.Errorf("got %v", err)
	}
}
