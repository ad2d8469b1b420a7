package fsm

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAutoscaleNote: notes become events with their message; an unchanged
// blocked verdict is recorded once, until it is cleared or changes.
func TestAutoscaleNote(t *testing.T) {
	const (
		grow    = "memory 83% of 8 GiB reserved >= 80%: adding 1 node"
		blocked = "memory 98% of 12 GiB reserved >= 80%: would add 1 node, but the cluster has 3 of its maximum 3 nodes"
		worse   = "memory 99% of 12 GiB reserved >= 80%: would add 1 node, but the cluster has 3 of its maximum 3 nodes"
	)
	note := func(msg string, b bool) AutoscaleNote {
		return AutoscaleNote{Meta: meta(), Key: "acme/web", Message: msg, Blocked: b}
	}
	tests := []struct {
		name  string
		notes []AutoscaleNote
		want  []string // messages recorded, in order
		last  string   // LastNote after
	}{
		{"growth", []AutoscaleNote{note(grow, false)}, []string{grow}, grow},
		{"blocked once", []AutoscaleNote{note(blocked, true), note(blocked, true), note(blocked, true)}, []string{blocked}, blocked},
		{"blocked changes", []AutoscaleNote{note(blocked, true), note(worse, true), note(worse, true)}, []string{blocked, worse}, worse},
		{"cleared, then blocked again", []AutoscaleNote{note(blocked, true), note("", false), note(blocked, true)}, []string{blocked, blocked}, blocked},
		{"growth after blocked", []AutoscaleNote{note(blocked, true), note(grow, false), note(blocked, true)}, []string{blocked, grow, blocked}, blocked},
		{"the same growth twice is recorded twice", []AutoscaleNote{note(grow, false), note(grow, false)}, []string{grow, grow}, grow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(Config{})
			applyAll(t, f, population(t)[:7]) // up to the cluster
			f.ApplyEntry(8, enc(t, TypeClusterUpsert, Upsert[Cluster]{meta(), Cluster{Tenant: "acme", Name: "web", Nodes: 3, Autoscale: &AutoscalePolicy{Enabled: true}}}))
			var before int
			f.View(func(s *State) { before = len(s.Events) })
			for i, n := range tt.notes {
				if r := f.ApplyEntry(uint64(10+i), enc(t, TypeAutoscaleNote, n)); r.Err != nil {
					t.Fatal(r.Err)
				}
			}
			var got []string
			var last string
			f.View(func(s *State) {
				for _, e := range s.Events[before:] {
					if e.Kind != "cluster" || e.Action != ActionAutoscale || e.Object != "acme/web" || e.Cluster != "acme/web" || !e.Time.Equal(t0) {
						t.Errorf("event %+v", e)
					}
					got = append(got, e.Message)
				}
				last = s.Clusters["acme/web"].Autoscale.LastNote
			})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("messages recorded (-want +got):\n%s", diff)
			}
			if last != tt.last {
				t.Errorf("LastNote %q, want %q", last, tt.last)
			}
		})
	}
}

func TestAutoscaleNoteRefused(t *testing.T) {
	f := New(Config{})
	applyAll(t, f, population(t)[:7]) // acme/web without a policy
	for _, tt := range []struct {
		key  string
		want error
	}{{"acme/nope", ErrNotFound}, {"acme/web", ErrConflict}} {
		r := f.ApplyEntry(20, enc(t, TypeAutoscaleNote, AutoscaleNote{Meta: meta(), Key: tt.key, Message: "x"}))
		if !errors.Is(r.Err, tt.want) {
			t.Errorf("%s: error %v, want %v", tt.key, r.Err, tt.want)
		}
	}
}

// TestClusterEvents: cluster, node (also deleted) and note events carry the
// cluster's key; ClusterEvents returns only that cluster's.
func TestClusterEvents(t *testing.T) {
	f := New(Config{})
	entries := append(population(t),
		enc(t, TypeClusterUpsert, Upsert[Cluster]{meta(), Cluster{Tenant: "acme", Name: "db", Nodes: 1}}),
		enc(t, TypeNodeUpsert, Upsert[Node]{meta(), Node{Name: "db-1", Tenant: "acme", Cluster: "db"}}),
		enc(t, TypeNodeDelete, Delete{meta(), "web-1"}),
	)
	applyAll(t, f, entries)
	type ev struct {
		Index                         uint64
		Kind, Action, Object, Cluster string
	}
	var web, db, all []ev
	f.View(func(s *State) {
		for _, e := range s.ClusterEvents("acme/web", 0, 0) {
			web = append(web, ev{e.Index, e.Kind, e.Action, e.Object, e.Cluster})
		}
		for _, e := range s.ClusterEvents("acme/db", 0, 1) {
			db = append(db, ev{e.Index, e.Kind, e.Action, e.Object, e.Cluster})
		}
		for _, e := range s.ClusterEvents("acme/web", 11, 0) {
			all = append(all, ev{e.Index, e.Kind, e.Action, e.Object, e.Cluster})
		}
	})
	wantWeb := []ev{
		{7, "cluster", "create", "acme/web", "acme/web"},
		{8, "node", "create", "web-1", "acme/web"},
		{11, "cluster", "update", "acme/web", "acme/web"},
		{12, "cluster", "autoscale", "acme/web", "acme/web"},
		{15, "node", "delete", "web-1", "acme/web"},
	}
	if diff := cmp.Diff(wantWeb, web); diff != "" {
		t.Errorf("acme/web (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]ev{{13, "cluster", "create", "acme/db", "acme/db"}}, db); diff != "" {
		t.Errorf("acme/db, limit 1 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantWeb[3:], all); diff != "" {
		t.Errorf("acme/web after 11 (-want +got):\n%s", diff)
	}
}
