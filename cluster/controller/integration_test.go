package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/fsm"
)

// TestClusterLifecycleRealSwarm drives the controller with real Raft and
// real dockerd processes (one per node record, in its own network namespace,
// started by a fake agent): a 3-node cluster becomes active with 3
// managers, grow adds a worker, resize --remove drains and removes it, no
// capacity gives an error with a reason and a next step, rm removes
// everything.
func TestClusterLifecycleRealSwarm(t *testing.T) {
	needSwarm(t)
	p := newPlane(t, "10.249.0.0/16")
	p.mustApply(fsm.TypeTenantUpsert, fsm.Upsert[fsm.Tenant]{Object: fsm.Tenant{Name: "acme"}})
	agent := startAgent(t, p, hypervisor("hv-1", 8), hypervisor("hv-2", 8), hypervisor("hv-3", 8))
	defer p.start()() // stop the controller before the nodes and bridges go
	ctx := context.Background()

	start := time.Now()
	p.create("acme", "web", 3)
	c := p.waitState("acme/web", fsm.ClusterActive, 1, 120*time.Second)
	t.Logf("create 3 nodes -> active in %s", time.Since(start).Round(time.Millisecond))
	if len(c.Managers) != 3 || c.Health != fsm.HealthHealthy || c.SwarmID == "" {
		t.Fatalf("after create: managers %v health %s (%s) swarm %q", c.Managers, c.Health, c.HealthDetail, c.SwarmID)
	}
	nodes := nodesOf(p, "acme", "web")
	hvs := map[string]bool{}
	for _, n := range nodes {
		hvs[n.Hypervisor] = true
		if n.State != fsm.NodeRunning || n.Role != "manager" || !strings.HasPrefix(n.Address, "10.249.") || !strings.HasSuffix(n.Address, "/24") {
			t.Errorf("node %+v", n)
		}
	}
	if len(nodes) != 3 || len(hvs) != 3 {
		t.Fatalf("want 3 nodes spread over 3 hypervisors, got %d on %v", len(nodes), hvs)
	}
	eng, err := p.ctl.cfg.Engines(c, nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	swarmNodes := func() (managers, workers int) {
		list, err := eng.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range list {
			if n.Status.State != "ready" {
				continue
			}
			if n.ManagerStatus != nil {
				managers++
			} else {
				workers++
			}
		}
		return
	}
	if m, w := swarmNodes(); m != 3 || w != 0 {
		t.Fatalf("swarm: %d managers, %d workers; want 3, 0", m, w)
	}

	// Grow by one: a worker joins.
	start = time.Now()
	gen := p.change("acme/web", func(c *fsm.Cluster) { c.Nodes, c.State = 4, fsm.ClusterGrowing })
	c = p.waitState("acme/web", fsm.ClusterActive, gen, 60*time.Second)
	t.Logf("grow by 1 -> active in %s", time.Since(start).Round(time.Millisecond))
	if m, w := swarmNodes(); m != 3 || w != 1 {
		t.Fatalf("after grow: %d managers, %d workers; want 3, 1", m, w)
	}
	// Later passes leave the worker alone (a worker's info has no cluster
	// ID: it must not be joined again).
	stable := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(stable) {
		if c, _ := p.cluster("acme/web"); c.State != fsm.ClusterActive || c.Reason != "" {
			t.Fatalf("after grow, a later pass: %s %q", c.State, c.Reason)
		}
		<-time.After(50 * time.Millisecond) // watching for a change that must not come
	}

	// Resize back to 3, removing the worker explicitly.
	gen = p.change("acme/web", func(c *fsm.Cluster) { c.Nodes, c.State, c.Remove = 3, fsm.ClusterResizing, []string{"acme-web-4"} })
	p.waitState("acme/web", fsm.ClusterActive, gen, 60*time.Second)
	waitFor(t, 30*time.Second, "acme-web-4 record to go", func() bool { return len(nodesOf(p, "acme", "web")) == 3 })
	if m, w := swarmNodes(); m != 3 || w != 0 {
		t.Fatalf("after resize: %d managers, %d workers; want 3, 0", m, w)
	}

	// No capacity: 4 more nodes do not fit in the 3 free slots.
	p.create("acme", "big", 4)
	c = p.waitState("acme/big", fsm.ClusterError, 1, 30*time.Second)
	if !strings.Contains(c.Reason, "no capacity") || c.NextStep == "" {
		t.Fatalf("no capacity: reason %q next step %q", c.Reason, c.NextStep)
	}
	if n := len(nodesOf(p, "acme", "big")); n != 0 {
		t.Fatalf("a refused cluster got %d nodes placed", n)
	}
	t.Logf("no capacity: %s; next: %s", c.Reason, c.NextStep)

	// rm removes everything: nodes, dockerds, subnets, the record.
	for _, key := range []string{"acme/big", "acme/web"} {
		p.change(key, func(c *fsm.Cluster) { c.Deleting, c.State = true, fsm.ClusterDeleting })
	}
	start = time.Now()
	waitFor(t, 60*time.Second, "clusters to be deleted", func() bool {
		_, a := p.cluster("acme/web")
		_, b := p.cluster("acme/big")
		return !a && !b
	})
	t.Logf("rm -> gone in %s", time.Since(start).Round(time.Millisecond))
	waitFor(t, 10*time.Second, "subnets to be released", func() bool {
		n := 0
		p.fsm.View(func(s *fsm.State) { n = len(s.Subnets) + len(s.Nodes) })
		return n == 0
	})
	if n := agent.running(); n != 0 {
		t.Fatalf("%d dockerd still running", n)
	}
}

func nodesOf(p *plane, tenant, cluster string) []fsm.Node {
	var out []fsm.Node
	p.fsm.View(func(s *fsm.State) {
		for _, n := range fsm.Sorted(s.Nodes) {
			if n.Tenant == tenant && n.Cluster == cluster {
				out = append(out, n)
			}
		}
	})
	sortNodes(out)
	return out
}
