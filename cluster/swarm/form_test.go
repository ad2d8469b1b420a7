package swarm

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func members(w *world, names ...string) ([]Member, []*fakeEngine) {
	var ms []Member
	var es []*fakeEngine
	for i, n := range names {
		e := w.engine(n)
		es = append(es, e)
		ms = append(ms, Member{Name: n, Addr: "10.9.0." + string(rune('1'+i)), Engine: e})
	}
	return ms, es
}

func TestManagersFor(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 1, 3: 3, 6: 3, 7: 5, 10: 5} {
		if got := ManagersFor(n); got != want {
			t.Errorf("ManagersFor(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestFormFreshAndIdempotent(t *testing.T) {
	w := &world{}
	ms, _ := members(w, "a", "b", "c", "d")
	res, err := Form(context.Background(), ms)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, res.Managers); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff([]string{"d"}, res.Workers); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff([]string{"init a", "join b manager=true", "join c manager=true", "join d manager=false"}, w.calls); diff != "" {
		t.Error(diff)
	}
	w.calls = nil
	res2, err := Form(context.Background(), ms)
	if err != nil || len(w.calls) != 0 || len(res2.Changed) != 0 || res2.ClusterID != res.ClusterID {
		t.Fatalf("second Form changed things: %v %v %+v", err, w.calls, res2)
	}
}

func TestFormGrowsAndRejoins(t *testing.T) {
	w := &world{}
	ms, es := members(w, "a", "b", "c", "d", "e")
	if _, err := Form(context.Background(), ms[:1]); err != nil {
		t.Fatal(err)
	}
	es[0].w.calls = nil
	// A node whose earlier join never completed is reset and joined.
	es[2].state = "pending"
	res, err := Form(context.Background(), ms)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"join b manager=true", "leave c", "join c manager=true", "join d manager=false", "join e manager=false"}, w.calls); diff != "" {
		t.Error(diff)
	}
	if len(res.Managers) != 3 {
		t.Errorf("managers %v", res.Managers)
	}
}

func TestFormRefusesTwoSwarms(t *testing.T) {
	w := &world{}
	ms, _ := members(w, "a", "b")
	Form(context.Background(), ms[:1])
	Form(context.Background(), ms[1:])
	_, err := Form(context.Background(), ms)
	if err == nil || !strings.Contains(err.Error(), "different swarms") || !strings.Contains(err.Error(), "rebuild") {
		t.Fatalf("got %v", err)
	}
}

func TestFormNodeDown(t *testing.T) {
	w := &world{}
	ms, es := members(w, "a", "b")
	es[1].down = true
	_, err := Form(context.Background(), ms)
	if err == nil || !strings.Contains(err.Error(), "node b: Docker engine does not answer") {
		t.Fatalf("got %v", err)
	}
}
