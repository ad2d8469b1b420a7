package fsm

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClusterStatus(t *testing.T) {
	spec := Cluster{Tenant: "acme", Name: "web", Nodes: 3, Generation: 2, State: ClusterGrowing, Remove: []string{"web-9"}, Rebuild: 1,
		CACert: "CA", CAKey: "KEY", Autoscale: &AutoscalePolicy{Enabled: true, Threshold: 0.8, Max: 5, LastScaleUp: t0}}
	status := ClusterStatus{Reason: "", Health: HealthHealthy, HealthDetail: "3/3", SwarmID: "sw", Managers: []string{"a", "b", "c"}, Observed: 2, Rebuilt: 1, Updated: t0}
	tests := []struct {
		name    string
		gen     uint64
		key     string
		wantErr error
		want    string // state after
	}{
		{"stale generation refused", 1, "acme/web", ErrConflict, ClusterGrowing},
		{"unknown cluster", 2, "acme/nope", ErrNotFound, ClusterGrowing},
		{"current generation applied", 2, "acme/web", nil, ClusterActive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(Config{})
			applyAll(t, f, population(t))
			if r := f.ApplyEntry(50, enc(t, TypeClusterUpsert, Upsert[Cluster]{meta(), spec})); r.Err != nil {
				t.Fatal(r.Err)
			}
			r := f.ApplyEntry(51, enc(t, TypeClusterStatus, SetClusterStatus{Meta: meta(), Key: tt.key, Generation: tt.gen, State: ClusterActive, Status: status}))
			if !errors.Is(r.Err, tt.wantErr) {
				t.Fatalf("error %v, want %v", r.Err, tt.wantErr)
			}
			var got Cluster
			f.View(func(s *State) { got = s.Clusters["acme/web"] })
			if got.State != tt.want {
				t.Fatalf("state %q, want %q", got.State, tt.want)
			}
			if tt.wantErr != nil {
				return
			}
			want := spec
			want.State, want.ClusterStatus, want.ModifyIndex = ClusterActive, status, 51
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("status must change only status fields (-want +got):\n%s", diff)
			}
			// The new fields survive a snapshot.
			dst := New(Config{})
			if err := dst.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, f)))); err != nil {
				t.Fatal(err)
			}
			var restored Cluster
			dst.View(func(s *State) { restored = s.Clusters["acme/web"] })
			if diff := cmp.Diff(got, restored); diff != "" {
				t.Errorf("after restore (-want +got):\n%s", diff)
			}
		})
	}
}

// A cluster above a quota lowered since may shrink and be deleted, not grow.
func TestClusterAboveLoweredQuota(t *testing.T) {
	f := New(Config{})
	applyAll(t, f, population(t)) // acme/web has 3 nodes
	if r := f.ApplyEntry(50, enc(t, TypeTenantUpsert, Upsert[Tenant]{meta(), Tenant{Name: "acme", Quota: Quota{MaxClusters: 3, MaxNodesPerCluster: 1}}})); r.Err != nil {
		t.Fatal(r.Err)
	}
	for i, tt := range []struct {
		c    Cluster
		want error
	}{
		{Cluster{Tenant: "acme", Name: "web", Nodes: 4}, ErrQuota},
		{Cluster{Tenant: "acme", Name: "web", Nodes: 3, Deleting: true}, nil},
		{Cluster{Tenant: "acme", Name: "web", Nodes: 2}, nil},
	} {
		if r := f.ApplyEntry(uint64(51+i), enc(t, TypeClusterUpsert, Upsert[Cluster]{meta(), tt.c})); !errors.Is(r.Err, tt.want) {
			t.Errorf("%+v: error %v, want %v", tt.c, r.Err, tt.want)
		}
	}
}

// The node chosen to init a cluster's Swarm, once recorded, changes only
// through a status that saw it (a controller on a stale view cannot pick
// another and start a second Swarm).
func TestClusterStatusSwarmInit(t *testing.T) {
	f := New(Config{})
	applyAll(t, f, population(t))
	spec := Cluster{Tenant: "acme", Name: "web", Nodes: 3, Generation: 1, State: ClusterBuilding}
	if r := f.ApplyEntry(50, enc(t, TypeClusterUpsert, Upsert[Cluster]{meta(), spec})); r.Err != nil {
		t.Fatal(r.Err)
	}
	set := func(index uint64, was, init string) error {
		return f.ApplyEntry(index, enc(t, TypeClusterStatus, SetClusterStatus{Meta: meta(), Key: "acme/web", Generation: 1,
			State: ClusterBuilding, Status: ClusterStatus{SwarmInit: init}, SwarmInitWas: was})).Err
	}
	steps := []struct {
		was, init string
		want      error
		after     string
	}{
		{"", "web-1", nil, "web-1"},              // first choice
		{"", "web-2", ErrConflict, "web-1"},      // a stale controller picks another
		{"", "", ErrConflict, "web-1"},           // a stale status would clear it
		{"web-1", "web-1", nil, "web-1"},         // an ordinary status carries it
		{"web-1", "web-3", nil, "web-3"},         // re-chosen by one that saw it (web-1 deleted)
		{"web-1", "web-2", ErrConflict, "web-3"}, // ... but not twice from the same view
	}
	for i, s := range steps {
		if err := set(uint64(51+i), s.was, s.init); !errors.Is(err, s.want) {
			t.Fatalf("step %d (%q -> %q): error %v, want %v", i, s.was, s.init, err, s.want)
		}
		var got string
		f.View(func(st *State) { got = st.Clusters["acme/web"].SwarmInit })
		if got != s.after {
			t.Fatalf("step %d: swarm_init %q, want %q", i, got, s.after)
		}
	}
}
