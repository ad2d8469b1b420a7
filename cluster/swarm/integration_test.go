package swarm_test

import (
	"context"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/swarm"
	"github.com/vela-appliance/vela/cluster/swarm/swarmtest"
)

// TestRealSwarmFormsOverTLS forms a real Docker Swarm out of three real
// dockerd processes reached over mutual TLS on port 2376.
func TestRealSwarmFormsOverTLS(t *testing.T) {
	swarmtest.Need(t)
	p := swarmtest.NewPKI(t)
	nodes := swarmtest.StartNodes(t, p, 3)
	ctx := context.Background()

	// Without Vela's client certificate the engine refuses.
	if _, err := p.Engine(nodes[0], false).Info(ctx); err == nil {
		t.Fatal("engine answered a client without a certificate")
	}
	var ms []swarm.Member
	for _, nd := range nodes {
		ms = append(ms, swarm.Member{Name: nd.Name, Addr: nd.IP, Engine: p.Engine(nd, true)})
	}
	start := time.Now()
	res, err := swarm.Form(ctx, ms)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("3-node swarm formed in %s: %v", time.Since(start).Round(time.Millisecond), res.Changed)
	if len(res.Managers) != 3 {
		t.Errorf("managers %v", res.Managers)
	}
	list, err := ms[0].Engine.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ready := 0
	for _, n := range list {
		if n.Status.State == "ready" {
			ready++
		}
	}
	if len(list) != 3 || ready != 3 {
		t.Errorf("swarm nodes: %d, ready %d", len(list), ready)
	}
	// Idempotent against the real thing too.
	res2, err := swarm.Form(ctx, ms)
	if err != nil || len(res2.Changed) != 0 || res2.ClusterID != res.ClusterID {
		t.Fatalf("second Form: %v %+v", err, res2)
	}
	// A node that left is joined back.
	if err := ms[2].Engine.Leave(ctx, true); err != nil {
		t.Fatal(err)
	}
	res3, err := swarm.Form(ctx, ms)
	if err != nil || len(res3.Changed) != 1 {
		t.Fatalf("rejoin: %v %+v", err, res3)
	}
}
