package controller

import (
	"context"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/swarm/swarmfake"
)

// A cluster whose swarm lost one of its three managers (the node's
// hypervisor died) stays active while the other two elect a leader, for as
// long as that takes, then shows degraded; it never shows error for it.
func TestManagerLostKeepsClusterActive(t *testing.T) {
	ctx := context.Background()
	c, p := newMem(t, readyHV("hv-1"), readyHV("hv-2"), readyHV("hv-3"))
	cl, _ := clusterOf(p)
	cl.Nodes, cl.Generation = 3, cl.Generation+1
	p.must(t, fsm.TypeClusterUpsert, fsm.Upsert[fsm.Cluster]{Object: cl})
	c.Pass(ctx)
	report(t, p, fsm.NodeRunning, "")
	w := &swarmfake.World{}
	engines := map[string]*swarmfake.Engine{}
	c.cfg.Engines = func(_ fsm.Cluster, n fsm.Node) (Engine, error) {
		if engines[n.Name] == nil {
			engines[n.Name] = w.Engine(n.Name)
		}
		return engines[n.Name], nil
	}
	c.Pass(ctx)
	if cl, _ = clusterOf(p); cl.State != fsm.ClusterActive || len(cl.Managers) != 3 || cl.Health != fsm.HealthHealthy {
		t.Fatalf("before: %s (%s), managers %v, health %s", cl.State, cl.Reason, cl.Managers, cl.Health)
	}

	engines["acme-web-3"].SetDown(true)
	w.SetLeaderless(true)
	now := now0
	c.cfg.Now = func() time.Time { return now }
	for i := range 10 {
		now = now.Add(10 * time.Second)
		c.Pass(ctx)
		if cl, _ = clusterOf(p); cl.State != fsm.ClusterActive {
			t.Fatalf("pass %d (%s without a swarm leader): %s (%s)", i+1, now.Sub(now0), cl.State, cl.Reason)
		}
	}
	w.SetLeaderless(false)
	c.Pass(ctx)
	if cl, _ = clusterOf(p); cl.State != fsm.ClusterActive || cl.Health != fsm.HealthDegraded {
		t.Fatalf("after the election: %s (%s), health %s (%s)", cl.State, cl.Reason, cl.Health, cl.HealthDetail)
	}
}

// What passes remember of a cluster (its failure streak) goes with it.
func TestPassForgetsGoneClusters(t *testing.T) {
	ctx := context.Background()
	c, p := newMem(t, readyHV("hv-1"))
	c.Pass(ctx)
	report(t, p, fsm.NodeRunning, "")
	c.Pass(ctx) // the engines never answer: a strike
	if len(c.strikes) != 1 {
		t.Fatalf("strikes after a failing pass: %v", c.strikes)
	}
	_, nodes := clusterOf(p)
	for _, n := range nodes {
		p.must(t, fsm.TypeNodeDelete, fsm.Delete{Key: n.Name})
	}
	p.must(t, fsm.TypeClusterDelete, fsm.Delete{Key: "acme/web"})
	c.Pass(ctx)
	if len(c.strikes) != 0 {
		t.Fatalf("strikes of a deleted cluster kept: %v", c.strikes)
	}
}
