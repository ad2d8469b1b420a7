package swarm_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/cluster/swarm"
	"github.com/vela-appliance/vela/cluster/swarm/swarmfake"
)

func members(w *swarmfake.World, names ...string) ([]swarm.Member, []*swarmfake.Engine) {
	var ms []swarm.Member
	var es []*swarmfake.Engine
	for i, n := range names {
		e := w.Engine(n)
		es = append(es, e)
		ms = append(ms, swarm.Member{Name: n, Addr: "10.9.0." + string(rune('1'+i)), Engine: e})
	}
	return ms, es
}

func TestManagersFor(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 1, 3: 3, 6: 3, 7: 5, 10: 5} {
		if got := swarm.ManagersFor(n); got != want {
			t.Errorf("ManagersFor(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestFormFreshAndIdempotent(t *testing.T) {
	w := &swarmfake.World{}
	ms, _ := members(w, "a", "b", "c", "d")
	res, err := swarm.Form(context.Background(), ms)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, res.Managers); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff([]string{"d"}, res.Workers); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff([]string{"init a", "join b manager=true", "join c manager=true", "join d manager=false"}, w.Calls()); diff != "" {
		t.Error(diff)
	}
	res2, err := swarm.Form(context.Background(), ms)
	if calls := w.Calls(); err != nil || len(calls) != 0 || len(res2.Changed) != 0 || res2.ClusterID != res.ClusterID {
		t.Fatalf("second Form changed things: %v %v %+v", err, calls, res2)
	}
}

func TestFormGrowsAndRejoins(t *testing.T) {
	w := &swarmfake.World{}
	ms, es := members(w, "a", "b", "c", "d", "e")
	if _, err := swarm.Form(context.Background(), ms[:1]); err != nil {
		t.Fatal(err)
	}
	w.Calls()
	// A node whose join is under way is left alone (not forced out:
	// a manager's join can outlast the call that asked for it)...
	es[2].SetState("pending")
	res, err := swarm.Form(context.Background(), ms[:3])
	if err != nil {
		t.Fatal(err)
	}
	if calls := w.Calls(); slices.Contains(calls, "leave c") || !slices.Equal(res.Joining, []string{"c"}) {
		t.Fatalf("a pending join was disturbed: calls %v, joining %v", calls, res.Joining)
	}
	// ...until the controller says it is stale: then it is reset and joined.
	ms[2].StalePending = true
	res, err = swarm.Form(context.Background(), ms)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"leave c", "join c manager=true", "join d manager=false", "join e manager=false"}, w.Calls()); diff != "" {
		t.Error(diff)
	}
	if len(res.Managers) != 3 {
		t.Errorf("managers %v", res.Managers)
	}
}

func TestFormRefusesTwoSwarms(t *testing.T) {
	w := &swarmfake.World{}
	ms, _ := members(w, "a", "b")
	swarm.Form(context.Background(), ms[:1])
	swarm.Form(context.Background(), ms[1:])
	_, err := swarm.Form(context.Background(), ms)
	if err == nil || !strings.Contains(err.Error(), "different swarms") || !strings.Contains(err.Error(), "rebuild") {
		t.Fatalf("got %v", err)
	}
}

func TestFormNodeDown(t *testing.T) {
	w := &swarmfake.World{}
	ms, es := members(w, "a", "b")
	es[1].SetDown(true)
	_, err := swarm.Form(context.Background(), ms)
	if err == nil || !strings.Contains(err.Error(), "node b: Docker engine does not answer") {
		t.Fatalf("got %v", err)
	}
}

// Init goes to the member marked for it, and an init that lost a race to
// another controller on the same node adopts the swarm that won.
func TestFormInitOnMarkedMemberAdoptsRace(t *testing.T) {
	w := &swarmfake.World{}
	ms, es := members(w, "a", "b", "c")
	ms[1].Init = true
	raced := false
	w.BeforeInit = func(name string) {
		if !raced {
			raced = true // another controller inits b first
			if _, err := es[1].Init(context.Background(), swarm.InitRequest{AdvertiseAddr: ms[1].Addr}); err != nil {
				t.Error(err)
			}
		}
	}
	res, err := swarm.Form(context.Background(), ms)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Swarms(); len(got) != 1 || len(got[res.ClusterID]) != 3 {
		t.Fatalf("swarms %v, want one with a, b, c", got)
	}
	if diff := cmp.Diff([]string{"init b", "join a manager=true", "join c manager=true"}, w.Calls()); diff != "" {
		t.Error(diff)
	}
	if len(res.Changed) != 2 {
		t.Errorf("changed %v: the init was the other controller's", res.Changed)
	}
}

// A swarm electing a new leader (one of three managers lost) answers no
// manager call; Form of the members left has nothing to do and must not
// fail for it, while a member that needs to join still waits for a leader.
func TestFormWhileSwarmElectsLeader(t *testing.T) {
	w := &swarmfake.World{}
	ms, es := members(w, "a", "b", "c", "d")
	if _, err := swarm.Form(context.Background(), ms[:3]); err != nil {
		t.Fatal(err)
	}
	w.Calls()
	es[2].SetDown(true)
	w.SetLeaderless(true)
	res, err := swarm.Form(context.Background(), ms[:2])
	if err != nil || len(res.Changed) != 0 || len(w.Calls()) != 0 {
		t.Fatalf("Form of a complete swarm without a leader: %v, %+v", err, res)
	}
	if diff := cmp.Diff([]string{"a", "b"}, res.Managers); diff != "" {
		t.Error(diff)
	}
	_, err = swarm.Form(context.Background(), []swarm.Member{ms[0], ms[1], ms[3]})
	if err == nil || !strings.Contains(err.Error(), "reading join tokens") || !strings.Contains(err.Error(), "does not have a leader") {
		t.Fatalf("a join while the swarm has no leader: %v", err)
	}
	w.SetLeaderless(false)
	if _, err := swarm.Form(context.Background(), []swarm.Member{ms[0], ms[1], ms[3]}); err != nil {
		t.Fatal(err)
	}
}
