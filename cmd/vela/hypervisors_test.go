package main

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/fsm"
)

func TestHypervisorsTable(t *testing.T) {
	now := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	hs := []api.HypervisorStatus{
		{Hypervisor: fsm.Hypervisor{Name: "hv-1", State: "ready", CPUs: 16, MemoryBytes: 64 << 30, DiskBytes: 900 << 30, LastSeen: now.Add(-4 * time.Second)},
			Allocated: api.Allocation{Nodes: 2, MemoryBytes: 8 << 30, VCPUs: 4, DiskBytes: 40_000_000_000}},
		{Hypervisor: fsm.Hypervisor{Name: "hv-2", State: "draining", CPUs: 8, MemoryBytes: 32 << 30, DiskBytes: 400 << 30, LastSeen: now.Add(-9 * time.Second)}, Draining: true},
		{Hypervisor: fsm.Hypervisor{Name: "hv-3", State: "unreachable", CPUs: 8, MemoryBytes: 32 << 30, LastSeen: now.Add(-95 * time.Second)}, Draining: true, Unreachable: true},
	}
	var b bytes.Buffer
	if err := printHypervisors(&b, "table", hs, now); err != nil {
		t.Fatal(err)
	}
	golden := "testdata/hypervisors-ls.txt"
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("vela hypervisors ls (-want +got):\n%s", diff)
	}
	if err := printHypervisors(&b, "xml", hs, now); err == nil {
		t.Error("-o xml accepted")
	}
}

func TestAgentModesExclude(t *testing.T) {
	_, errs, code := vela(t, "", "agent", "--server", "127.0.0.1:1", "--nodes", "/etc/vela/nodes.json")
	if code == 0 || !bytes.Contains([]byte(errs), []byte("exclude each other")) {
		t.Errorf("agent --server with --nodes: code %d, %s; want a refusal", code, errs)
	}
}
