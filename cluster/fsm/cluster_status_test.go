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
