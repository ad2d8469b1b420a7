package swarm_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/swarm"
	"github.com/vela-appliance/vela/cluster/swarm/swarmtest"
)

// TestRealSwarmLosesItsLeader: three real managers, the leader's dockerd
// is killed (its hypervisor died). Right away, while the other two elect a
// new leader, Form of the survivors has nothing to do and succeeds: they
// still report being managers of the swarm; only calls that need a leader
// fail for a while (what sent a cluster to error in CI before).
func TestRealSwarmLosesItsLeader(t *testing.T) {
	swarmtest.Need(t)
	p := swarmtest.NewPKI(t)
	nodes := swarmtest.StartNodes(t, p, 3)
	ctx := context.Background()
	var ms []swarm.Member
	for _, nd := range nodes {
		ms = append(ms, swarm.Member{Name: nd.Name, Addr: nd.IP, Engine: p.Engine(nd, true)})
	}
	res, err := swarm.Form(ctx, ms)
	if err != nil || len(res.Managers) != 3 {
		t.Fatalf("form: %v %+v", err, res)
	}
	list, err := ms[0].Engine.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(nodes, func(nd *swarmtest.Node) bool {
		return slices.ContainsFunc(list, func(n swarm.Node) bool {
			return n.ManagerStatus != nil && n.ManagerStatus.Leader && n.Status.Addr == nd.IP
		})
	})
	if i < 0 {
		t.Fatalf("no leader among %+v", list)
	}
	t.Logf("killing the swarm leader %s", nodes[i].Name)
	nodes[i].Kill()
	killed := time.Now()
	left := slices.Delete(slices.Clone(ms), i, i+1)

	res, err = swarm.Form(ctx, left)
	if err != nil || len(res.Changed) != 0 || len(res.Managers) != 2 {
		t.Fatalf("Form of the two survivors %s after the kill: %v %+v", time.Since(killed).Round(time.Millisecond), err, res)
	}
	_, ierr := left[0].Engine.Inspect(ctx)
	t.Logf("Form of the survivors passed %s after the kill; a leader-only call then: %v", time.Since(killed).Round(time.Millisecond), ierr)

	// The survivors elect a leader and see the lost one down.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		l, err := left[0].Engine.Nodes(ctx)
		down := slices.ContainsFunc(l, func(n swarm.Node) bool { return n.Status.Addr == nodes[i].IP && n.Status.State == "down" })
		if err == nil && down {
			t.Logf("new leader, lost node down, %s after the kill", time.Since(killed).Round(100*time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("survivors: %v, nodes %+v", err, l)
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}
