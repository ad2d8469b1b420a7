package controller

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/controller/credentials"
	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/swarm"
)

// memProposer applies commands to an FSM directly: Raft without Raft.
type memProposer struct {
	mu  sync.Mutex
	f   *fsm.FSM
	idx uint64
}

func (p *memProposer) Apply(_ context.Context, cmd []byte) (fsm.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idx++
	return p.f.ApplyEntry(p.idx, cmd), nil
}

func (p *memProposer) must(t *testing.T, typ fsm.Type, body any) {
	t.Helper()
	b, _ := fsm.Encode(typ, body)
	if r, _ := p.Apply(context.Background(), b); r.Err != nil {
		t.Fatal(r.Err)
	}
}

// deadEngine is a node whose dockerd never answers.
type deadEngine struct{ Engine }

func (deadEngine) Info(context.Context) (swarm.Info, error) {
	return swarm.Info{}, errors.New("connection refused")
}

var now0 = time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)

func newMem(t *testing.T, hvs ...fsm.Hypervisor) (*Controller, *memProposer) {
	t.Helper()
	p := &memProposer{f: fsm.New(fsm.Config{})}
	p.must(t, fsm.TypeTenantUpsert, fsm.Upsert[fsm.Tenant]{Object: fsm.Tenant{Name: "acme"}})
	for _, h := range hvs {
		p.must(t, fsm.TypeHypervisorUpsert, fsm.Upsert[fsm.Hypervisor]{Object: h})
	}
	cert, key, _ := credentials.NewCA("acme/web", now0)
	p.must(t, fsm.TypeClusterUpsert, fsm.Upsert[fsm.Cluster]{Object: fsm.Cluster{Tenant: "acme", Name: "web", Nodes: 2, Generation: 1, State: fsm.ClusterNew, CACert: string(cert), CAKey: string(key)}})
	c, err := New(Config{Proposer: p, State: p.f, Now: func() time.Time { return now0 },
		Engines: func(fsm.Cluster, fsm.Node) (Engine, error) { return deadEngine{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c, p
}

func readyHV(name string) fsm.Hypervisor {
	return fsm.Hypervisor{Name: name, State: fsm.HypervisorReady, LastSeen: now0, MemoryBytes: 64 << 30, CPUs: 32, DiskBytes: 1e12}
}

func clusterOf(p *memProposer) (c fsm.Cluster, nodes []fsm.Node) {
	p.f.View(func(s *fsm.State) {
		c = s.Clusters["acme/web"]
		nodes = fsm.Sorted(s.Nodes)
	})
	return
}

func report(t *testing.T, p *memProposer, state, reason string) {
	_, nodes := clusterOf(p)
	for _, n := range nodes {
		p.must(t, fsm.TypeNodeStatus, fsm.SetNodeStatus{Name: n.Name, Hypervisor: n.Hypervisor, State: state, Reason: reason})
	}
}

func TestErrorsCarryReasonAndNextStep(t *testing.T) {
	ctx := context.Background()
	t.Run("no ready hypervisor", func(t *testing.T) {
		draining := readyHV("hv-d")
		draining.State = fsm.HypervisorDraining
		silent := readyHV("hv-s")
		silent.LastSeen = now0.Add(-time.Minute)
		c, p := newMem(t, draining, silent)
		c.Pass(ctx)
		cl, nodes := clusterOf(p)
		if cl.State != fsm.ClusterError || !strings.Contains(cl.Reason, "no hypervisor is ready") || cl.NextStep == "" || len(nodes) != 0 {
			t.Fatalf("state %s reason %q next %q nodes %d", cl.State, cl.Reason, cl.NextStep, len(nodes))
		}
	})
	t.Run("agent reports failure", func(t *testing.T) {
		c, p := newMem(t, readyHV("hv-1"), readyHV("hv-2"))
		c.Pass(ctx)
		cl, nodes := clusterOf(p)
		if cl.State != fsm.ClusterBuilding || len(nodes) != 2 || nodes[0].Hypervisor == nodes[1].Hypervisor {
			t.Fatalf("after placing: %s, %d nodes %+v", cl.State, len(nodes), nodes)
		}
		if n := nodes[0]; n.Address != "10.200.0.10/24" || n.Gateway != "10.200.0.1" || n.Role != "manager" || n.TLS == nil || n.TLS.Key == "" || n.MemoryBytes != 4<<30 || n.VCPUs != 2 {
			t.Errorf("first node %+v", n)
		}
		if nodes[1].Role != "worker" {
			t.Errorf("2-node cluster: second node is %s, want worker", nodes[1].Role)
		}
		report(t, p, fsm.NodeFailed, "libvirt: out of loop devices")
		c.Pass(ctx)
		cl, _ = clusterOf(p)
		if cl.State != fsm.ClusterError || !strings.Contains(cl.Reason, "out of loop devices") || !strings.Contains(cl.NextStep, "--remove acme-web-1") {
			t.Fatalf("state %s reason %q next %q", cl.State, cl.Reason, cl.NextStep)
		}
	})
	t.Run("engines that never answer", func(t *testing.T) {
		c, p := newMem(t, readyHV("hv-1"))
		c.Pass(ctx)
		report(t, p, fsm.NodeRunning, "")
		now := now0
		c.cfg.Now = func() time.Time { return now }
		var states []string
		for range maxStrikes + 2 { // a burst of passes: still retrying
			c.Pass(ctx)
			cl, _ := clusterOf(p)
			states = append(states, cl.State+": "+cl.Reason)
		}
		for _, s := range states {
			if !strings.HasPrefix(s, "building: retrying: no node's Docker engine answers") {
				t.Fatalf("passes within %s: %q", softGrace, states)
			}
		}
		now = now.Add(softGrace)
		c.Pass(ctx)
		cl, _ := clusterOf(p)
		if cl.State != fsm.ClusterError || !strings.Contains(cl.Reason, "no node's Docker engine answers") || cl.NextStep == "" {
			t.Fatalf("after %s of failing passes: %s %q; next step %q", softGrace, cl.State, cl.Reason, cl.NextStep)
		}
	})
	t.Run("delete when the hypervisor is gone", func(t *testing.T) {
		c, p := newMem(t, readyHV("hv-1"))
		c.Pass(ctx)
		p.must(t, fsm.TypeHypervisorDelete, fsm.Delete{Key: "hv-1"})
		cl, _ := clusterOf(p)
		cl.Deleting, cl.Generation = true, cl.Generation+1
		p.must(t, fsm.TypeClusterUpsert, fsm.Upsert[fsm.Cluster]{Object: cl})
		c.Pass(ctx)
		c.Pass(ctx) // the second pass releases the subnet
		var n int
		p.f.View(func(s *fsm.State) { n = len(s.Clusters) + len(s.Nodes) + len(s.Subnets) })
		if n != 0 {
			t.Fatalf("%d records left", n)
		}
	})
	t.Run("stale status is refused, not shown", func(t *testing.T) {
		c, p := newMem(t, readyHV("hv-1"))
		cl, _ := clusterOf(p)
		cl.Generation++
		cl.Nodes = 3
		p.must(t, fsm.TypeClusterUpsert, fsm.Upsert[fsm.Cluster]{Object: cl})
		old := cl
		old.Generation--
		c.setStatus(ctx, old, status{State: fsm.ClusterActive})
		if got, _ := clusterOf(p); got.State == fsm.ClusterActive {
			t.Fatal("a status for an old generation was applied")
		}
	})
}
