package controller

import (
	"context"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/fsm"
)

// TestNewLeaderContinues stops the controller as soon as the nodes are
// placed (as when the leader changes mid-build) and starts a new one on the
// same replicated state: it finishes the cluster without placing twice.
func TestNewLeaderContinues(t *testing.T) {
	needSwarm(t)
	p := newPlane(t, "10.247.0.0/16")
	p.mustApply(fsm.TypeTenantUpsert, fsm.Upsert[fsm.Tenant]{Object: fsm.Tenant{Name: "acme"}})
	startAgent(t, p, hypervisor("hv-1", 8), hypervisor("hv-2", 8))
	stop := p.start()
	defer stop()
	p.create("acme", "web", 3)
	waitFor(t, 30*time.Second, "3 nodes placed", func() bool { return len(nodesOf(p, "acme", "web")) == 3 })
	stop()
	before := nodesOf(p, "acme", "web")

	next, err := New(Config{Proposer: p.store, State: p.fsm, Pool: "10.247.0.0/16", Interval: 300 * time.Millisecond, Actor: "controller:m2"})
	if err != nil {
		t.Fatal(err)
	}
	p.onApply(next.Notify)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { next.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	c := p.waitState("acme/web", fsm.ClusterActive, 1, 120*time.Second)
	after := nodesOf(p, "acme", "web")
	if len(after) != 3 || len(c.Managers) != 3 {
		t.Fatalf("after the handover: %d nodes, managers %v", len(after), c.Managers)
	}
	for i := range before {
		if before[i].Name != after[i].Name || before[i].Address != after[i].Address || before[i].Hypervisor != after[i].Hypervisor {
			t.Errorf("node %d changed: %s %s %s -> %s %s %s", i, before[i].Name, before[i].Address, before[i].Hypervisor, after[i].Name, after[i].Address, after[i].Hypervisor)
		}
	}
	// Two nodes of the three share a hypervisor (two hypervisors): the
	// spread is still as even as it can be.
	per := map[string]int{}
	for _, n := range after {
		per[n.Hypervisor]++
	}
	if per["hv-1"] > 2 || per["hv-2"] > 2 {
		t.Errorf("placement not spread: %v", per)
	}
}
