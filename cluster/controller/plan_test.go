package controller

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/cluster/fsm"
)

func TestAllocator(t *testing.T) {
	subnets := []fsm.Subnet{{Tenant: "acme", Hypervisor: "hv-1", Prefix: "10.200.0.0/24"}, {Tenant: "beta", Hypervisor: "hv-1", Prefix: "10.200.2.0/24"}}
	nodes := []fsm.Node{
		{Name: "acme-web-1", Tenant: "acme", Cluster: "web", Address: "10.200.0.10/24"},
		{Name: "acme-web-3", Tenant: "acme", Cluster: "web", Address: "10.200.0.12/24"},
		{Name: "beta-web-1", Tenant: "beta", Cluster: "web", Address: "10.200.2.10/24"},
	}
	a, err := newAllocator(DefaultPool, subnets, nodes)
	if err != nil {
		t.Fatal(err)
	}
	type step struct{ tenant, hv, prefix, addr, gw string }
	var got []step
	for _, s := range []struct{ tenant, hv string }{{"acme", "hv-1"}, {"acme", "hv-1"}, {"acme", "hv-2"}, {"beta", "hv-2"}, {"acme", "hv-1"}} {
		sub, _, err := a.subnet(s.tenant, s.hv)
		if err != nil {
			t.Fatal(err)
		}
		addr, gw, err := a.address(sub)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, step{s.tenant, s.hv, sub.Prefix, addr, gw})
	}
	want := []step{
		{"acme", "hv-1", "10.200.0.0/24", "10.200.0.11/24", "10.200.0.1"}, // lowest free host, .10 and .12 taken
		{"acme", "hv-1", "10.200.0.0/24", "10.200.0.13/24", "10.200.0.1"},
		{"acme", "hv-2", "10.200.1.0/24", "10.200.1.10/24", "10.200.1.1"}, // lowest free /24
		{"beta", "hv-2", "10.200.3.0/24", "10.200.3.10/24", "10.200.3.1"}, // .2 is beta's on hv-1
		{"acme", "hv-1", "10.200.0.0/24", "10.200.0.14/24", "10.200.0.1"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(step{})); diff != "" {
		t.Error(diff)
	}
	c := fsm.Cluster{Tenant: "acme", Name: "web", Remove: []string{"acme-web-7"}}
	if n := a.nodeName(c, nodes[:2]); n != "acme-web-8" {
		t.Errorf("next name after a removed ordinal: %s", n)
	}
}

func TestAllocatorExhaustion(t *testing.T) {
	a, err := newAllocator("10.9.0.0/23", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, hv := range []string{"a", "b"} {
		if _, _, err := a.subnet("t", hv); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := a.subnet("t", "c"); err == nil {
		t.Fatal("a /23 pool gave a third /24")
	}
	for _, bad := range []string{"nope", "10.0.0.0/25", "fd00::/64"} {
		if _, err := newAllocator(bad, nil, nil); err == nil {
			t.Errorf("pool %q accepted", bad)
		}
	}
}

func TestSchedulerViewSkipsDrainingAndUnreachable(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	hvs := []fsm.Hypervisor{
		{Name: "ok", State: fsm.HypervisorReady, LastSeen: now.Add(-29 * time.Second), MemoryBytes: 16 << 30, CPUs: 8, DiskBytes: 1e12},
		{Name: "draining", State: fsm.HypervisorDraining, LastSeen: now, MemoryBytes: 16 << 30},
		{Name: "silent", State: fsm.HypervisorReady, LastSeen: now.Add(-31 * time.Second), MemoryBytes: 16 << 30},
		{Name: "new", MemoryBytes: 16 << 30},
	}
	nodes := []fsm.Node{{Name: "x-y-1", Tenant: "x", Cluster: "y", Hypervisor: "ok", MemoryBytes: 4 << 30, VCPUs: 2, DiskBytes: 20e9}}
	view := schedulerView(hvs, nodes, now, 10*time.Second)
	ready := map[string]bool{}
	for _, h := range view {
		ready[h.Name] = h.Ready
	}
	if diff := cmp.Diff(map[string]bool{"ok": true, "draining": false, "silent": false, "new": false}, ready); diff != "" {
		t.Error(diff)
	}
	if view[0].Allocated.Memory != 4<<30 || view[0].Clusters["x/y"] != 1 {
		t.Errorf("allocation of ok: %+v", view[0])
	}
}
