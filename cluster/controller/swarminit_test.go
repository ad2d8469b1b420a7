package controller

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/swarm/swarmfake"
)

// frozenView is a controller's view of the state taken at one moment: a
// new leader that has not applied the last committed entries yet.
type frozenView struct{ s fsm.State }

func freeze(t *testing.T, p *memProposer) *frozenView {
	t.Helper()
	var b []byte
	p.f.View(func(s *fsm.State) { b, _ = json.Marshal(s) })
	v := &frozenView{}
	if err := json.Unmarshal(b, &v.s); err != nil {
		t.Fatal(err)
	}
	return v
}

func (v *frozenView) View(fn func(*fsm.State)) { fn(&v.s) }

// Two controllers act on one new cluster at once (the old leader's, still
// stopping, and the new leader's), and see different nodes: the old one
// cannot reach acme-web-1. Whatever they see, the cluster gets one Swarm,
// inited on the node recorded first (design §14).
func TestOneSwarmWhenControllersRace(t *testing.T) {
	ctx := context.Background()
	for _, stale := range []bool{false, true} {
		name := map[bool]string{false: "new leader sees the choice", true: "new leader has a stale view"}[stale]
		t.Run(name, func(t *testing.T) {
			a, p := newMem(t, readyHV("hv-1"), readyHV("hv-2"))
			a.Pass(ctx) // places acme-web-1 and acme-web-2
			report(t, p, fsm.NodeRunning, "")
			w := &swarmfake.World{}
			engines := map[string]*swarmfake.Engine{"acme-web-1": w.Engine("acme-web-1"), "acme-web-2": w.Engine("acme-web-2")}
			a.cfg.Engines = func(_ fsm.Cluster, n fsm.Node) (Engine, error) {
				if n.Name == "acme-web-1" {
					return deadEngine{}, nil // unreachable from the old leader
				}
				return engines[n.Name], nil
			}
			var view StateReader = p.f
			if stale {
				view = freeze(t, p)
			}
			b, err := New(Config{Proposer: p, State: view, Now: func() time.Time { return now0 },
				Engines: func(_ fsm.Cluster, n fsm.Node) (Engine, error) { return engines[n.Name], nil }})
			if err != nil {
				t.Fatal(err)
			}
			once := false
			w.BeforeInit = func(string) {
				if !once { // the new leader's whole pass runs while the old one inits
					once = true
					b.Pass(ctx)
				}
			}
			a.Pass(ctx)
			w.BeforeInit = nil
			b.cfg.State = p.f // the new leader catches up
			for range 3 {
				b.Pass(ctx)
			}
			if sw := w.Swarms(); len(sw) != 1 {
				t.Fatalf("swarms %v, want one", sw)
			}
			cl, _ := clusterOf(p)
			if cl.State != fsm.ClusterActive || cl.SwarmInit != "acme-web-2" || len(cl.Managers) != 1 {
				t.Fatalf("cluster %s (%s), swarm_init %q, managers %v", cl.State, cl.Reason, cl.SwarmInit, cl.Managers)
			}
			for _, sw := range w.Swarms() {
				slices.Sort(sw)
				if !slices.Equal(sw, []string{"acme-web-1", "acme-web-2"}) {
					t.Fatalf("swarm members %v", sw)
				}
			}
		})
	}
}

// A rebuild makes the other nodes leave and join again as new Swarm nodes;
// the tenant's placement labels on them are put back (a stack placed by
// label would otherwise stay pending).
func TestRebuildKeepsNodeLabels(t *testing.T) {
	ctx := context.Background()
	c, p := newMem(t, readyHV("hv-1"), readyHV("hv-2"))
	c.Pass(ctx)
	report(t, p, fsm.NodeRunning, "")
	w := &swarmfake.World{}
	engines := map[string]*swarmfake.Engine{"acme-web-1": w.Engine("acme-web-1"), "acme-web-2": w.Engine("acme-web-2")}
	c.cfg.Engines = func(_ fsm.Cluster, n fsm.Node) (Engine, error) { return engines[n.Name], nil }
	c.Pass(ctx)
	cl, _ := clusterOf(p)
	if cl.State != fsm.ClusterActive {
		t.Fatalf("before the rebuild: %s (%s)", cl.State, cl.Reason)
	}
	mgr := engines["acme-web-1"]
	list, err := mgr.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range list {
		if sn.Status.Addr == ipOf(t, nodeAddr(p, "acme-web-2")) {
			if err := mgr.SetLabels(ctx, sn.ID, map[string]string{"side": "b"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cl.Generation++
	cl.Rebuild = cl.Generation
	p.must(t, fsm.TypeClusterUpsert, fsm.Upsert[fsm.Cluster]{Object: cl})
	w.Calls()
	c.Pass(ctx)
	cl, _ = clusterOf(p)
	calls := w.Calls()
	if cl.State != fsm.ClusterActive || !slices.Contains(calls, "force-new-cluster acme-web-1") || !slices.Contains(calls, "leave acme-web-2") {
		t.Fatalf("after the rebuild: %s (%s); calls %v", cl.State, cl.Reason, calls)
	}
	if got := engines["acme-web-2"].Labels(); got["side"] != "b" {
		t.Fatalf("labels of the rejoined node: %v, want side=b", got)
	}
}

func nodeAddr(p *memProposer, name string) (addr string) {
	p.f.View(func(s *fsm.State) { addr = s.Nodes[name].Address })
	return
}
