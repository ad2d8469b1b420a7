package fsm

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func enc(t testing.TB, typ Type, body any) []byte {
	t.Helper()
	b, err := Encode(typ, body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func meta() Meta { return Meta{Actor: "admin", Time: t0} }

// population builds one entry per state type.
func population(t testing.TB) [][]byte {
	return [][]byte{
		enc(t, TypeClusterInit, Upsert[ClusterInfo]{meta(), ClusterInfo{ID: "c-1", CACert: "PEM"}}),
		enc(t, TypeMemberUpsert, Upsert[Member]{meta(), Member{ID: "m1", RaftAddr: "127.0.0.1:8444", APIAddr: "127.0.0.1:8443", Joined: t0}}),
		enc(t, TypeMachineUpsert, Upsert[Machine]{meta(), Machine{Name: "node-a", MAC: "52:54:00:00:00:01", Role: "member", Labels: map[string]string{"rack": "r1"}}}),
		enc(t, TypeHypervisorUpsert, Upsert[Hypervisor]{meta(), Hypervisor{Name: "hv-1", CPUs: 8, MemoryBytes: 32 << 30, LastSeen: t0}}),
		enc(t, TypeTenantUpsert, Upsert[Tenant]{meta(), Tenant{Name: "acme", Created: t0}}),
		enc(t, TypeAPITokenUpsert, Upsert[APIToken]{meta(), APIToken{ID: "tok-1", Hash: "abc", Scope: ScopeTenant, Tenant: "acme", Created: t0}}),
		enc(t, TypeClusterUpsert, Upsert[Cluster]{meta(), Cluster{Tenant: "acme", Name: "web", Nodes: 3, Created: t0}}),
		enc(t, TypeNodeUpsert, Upsert[Node]{meta(), Node{Name: "web-1", Tenant: "acme", Cluster: "web", Hypervisor: "hv-1"}}),
		enc(t, TypeJoinTokenCreate, Upsert[JoinToken]{meta(), JoinToken{ID: "jt-1", Hash: "h1", Role: JoinMember, Created: t0, Expires: t0.Add(time.Hour)}}),
		enc(t, TypeJoinTokenConsume, ConsumeJoinToken{Meta: meta(), Hash: "h1", By: "m2"}),
		enc(t, TypeClusterUpsert, Upsert[Cluster]{meta(), Cluster{Tenant: "acme", Name: "web", Nodes: 3, Created: t0, Autoscale: &AutoscalePolicy{Enabled: true}}}),
		enc(t, TypeAutoscaleNote, AutoscaleNote{Meta: meta(), Key: "acme/web", Message: "memory 83% of 8 GiB reserved >= 80%: adding 1 node"}),
	}
}

func applyAll(t testing.TB, f *FSM, entries [][]byte) {
	t.Helper()
	for i, e := range entries {
		if r := f.ApplyEntry(uint64(i+1), e); r.Err != nil {
			t.Fatalf("entry %d: %v", i+1, r.Err)
		}
	}
}

func snapshotBytes(t testing.TB, f *FSM) []byte {
	t.Helper()
	s, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := s.Persist(sink); err != nil {
		t.Fatal(err)
	}
	return sink.Bytes()
}

func TestSnapshotRestoreEveryType(t *testing.T) {
	entries := population(t)
	src := New(Config{})
	applyAll(t, src, entries)
	var want *State
	src.View(func(s *State) { want = s })

	tests := []struct {
		name string
		get  func(*State) any
	}{
		{"info", func(s *State) any { return s.Info }},
		{"members", func(s *State) any { return s.Members }},
		{"machines", func(s *State) any { return s.Machines }},
		{"hypervisors", func(s *State) any { return s.Hypervisors }},
		{"tenants", func(s *State) any { return s.Tenants }},
		{"api tokens", func(s *State) any { return s.APITokens }},
		{"clusters", func(s *State) any { return s.Clusters }},
		{"nodes", func(s *State) any { return s.Nodes }},
		{"join tokens", func(s *State) any { return s.JoinTokens }},
		{"events", func(s *State) any { return s.Events }},
		{"last index", func(s *State) any { return s.LastIndex }},
	}
	dst := New(Config{})
	if err := dst.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, src)))); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			dst.View(func(s *State) { got = tt.get(s) })
			w := tt.get(want)
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("after restore (-want +got):\n%s", diff)
			}
			if cmp.Equal(w, tt.get(NewState())) {
				t.Errorf("population left %s empty: the test would not catch a loss", tt.name)
			}
		})
	}
}

func TestApplyDeterministic(t *testing.T) {
	a, b := New(Config{}), New(Config{})
	applyAll(t, a, population(t))
	applyAll(t, b, population(t))
	if !bytes.Equal(snapshotBytes(t, a), snapshotBytes(t, b)) {
		t.Fatal("two FSMs applying the same log produced different snapshots")
	}
}

func TestApplyRefusals(t *testing.T) {
	base := population(t)
	tests := []struct {
		name  string
		entry []byte
		want  error
	}{
		{"join token reused", enc(t, TypeJoinTokenConsume, ConsumeJoinToken{Meta: meta(), Hash: "h1", By: "m3"}), ErrTokenInvalid},
		{"join token unknown", enc(t, TypeJoinTokenConsume, ConsumeJoinToken{Meta: meta(), Hash: "nope", By: "m3"}), ErrTokenInvalid},
		{"node of missing cluster", enc(t, TypeNodeUpsert, Upsert[Node]{meta(), Node{Name: "x", Tenant: "acme", Cluster: "nope"}}), ErrNotFound},
		{"cluster of missing tenant", enc(t, TypeClusterUpsert, Upsert[Cluster]{meta(), Cluster{Tenant: "nobody", Name: "a"}}), ErrNotFound},
		{"too many nodes", enc(t, TypeClusterUpsert, Upsert[Cluster]{meta(), Cluster{Tenant: "acme", Name: "big", Nodes: 11}}), ErrQuota},
		{"delete missing machine", enc(t, TypeMachineDelete, Delete{meta(), "ghost"}), ErrNotFound},
		{"empty name", enc(t, TypeMachineUpsert, Upsert[Machine]{meta(), Machine{}}), ErrConflict},
		{"second cluster id", enc(t, TypeClusterInit, Upsert[ClusterInfo]{meta(), ClusterInfo{ID: "c-2"}}), ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(Config{})
			applyAll(t, f, base)
			before := snapshotBytes(t, f)
			r := f.ApplyEntry(100, tt.entry)
			if !errors.Is(r.Err, tt.want) {
				t.Fatalf("got error %v, want %v", r.Err, tt.want)
			}
			after := snapshotBytes(t, f)
			// Only LastIndex may move on a refused command.
			if bytes.Equal(before, after) {
				t.Fatal("LastIndex did not advance")
			}
			g := New(Config{})
			applyAll(t, g, base)
			g.ApplyEntry(100, enc(t, TypeMachineUpsert|IgnoreUnknown|0x40, nil))
			if !bytes.Equal(snapshotBytes(t, g), after) {
				t.Fatal("a refused command changed the state beyond LastIndex")
			}
			f.View(func(s *State) {
				if len(s.Events) != len(base) {
					t.Errorf("a refused command recorded an event: %d events", len(s.Events))
				}
			})
		})
	}
}

func TestJoinTokenExpiry(t *testing.T) {
	f := New(Config{})
	applyAll(t, f, [][]byte{enc(t, TypeJoinTokenCreate, Upsert[JoinToken]{meta(), JoinToken{ID: "jt", Hash: "h", Role: JoinMember, Expires: t0.Add(time.Minute)}})})
	late := ConsumeJoinToken{Meta: Meta{Actor: "m2", Time: t0.Add(time.Minute)}, Hash: "h", By: "m2"}
	if r := f.ApplyEntry(2, enc(t, TypeJoinTokenConsume, late)); !errors.Is(r.Err, ErrTokenInvalid) {
		t.Fatalf("expired token accepted: %v", r.Err)
	}
	early := ConsumeJoinToken{Meta: Meta{Actor: "m2", Time: t0.Add(59 * time.Second)}, Hash: "h", By: "m2"}
	if r := f.ApplyEntry(3, enc(t, TypeJoinTokenConsume, early)); r.Err != nil {
		t.Fatalf("valid token refused: %v", r.Err)
	}
}

func TestTenantQuota(t *testing.T) {
	f := New(Config{})
	applyAll(t, f, [][]byte{enc(t, TypeTenantUpsert, Upsert[Tenant]{meta(), Tenant{Name: "acme"}})})
	f.View(func(s *State) {
		want := Quota{MaxClusters: 3, MaxNodesPerCluster: 10}
		if diff := cmp.Diff(want, s.Tenants["acme"].Quota); diff != "" {
			t.Errorf("default quota (-want +got):\n%s", diff)
		}
	})
	for i, name := range []string{"a", "b", "c", "d"} {
		r := f.ApplyEntry(uint64(i+2), enc(t, TypeClusterUpsert, Upsert[Cluster]{meta(), Cluster{Tenant: "acme", Name: name, Nodes: 1}}))
		if gotQuota := errors.Is(r.Err, ErrQuota); gotQuota != (name == "d") {
			t.Fatalf("cluster %s: err %v", name, r.Err)
		}
	}
}

func TestUnknownTypes(t *testing.T) {
	f := New(Config{})
	if r := f.ApplyEntry(1, []byte{byte(IgnoreUnknown | 0x7f), '{', '}'}); r.Err != nil {
		t.Fatalf("ignorable unknown type: %v", r.Err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("unknown type without the ignore bit did not stop the member")
		}
	}()
	f.ApplyEntry(2, []byte{0x7f, '{', '}'})
}

func TestEventsTrimmed(t *testing.T) {
	f := New(Config{})
	n := MaxEvents + MaxEvents/4 + 1
	for i := 1; i <= n; i++ {
		f.ApplyEntry(uint64(i), enc(t, TypeMachineUpsert, Upsert[Machine]{meta(), Machine{Name: "m"}}))
	}
	f.View(func(s *State) {
		if len(s.Events) != MaxEvents || s.Events[0].Index != uint64(n-MaxEvents+1) {
			t.Fatalf("events: %d kept, first index %d", len(s.Events), s.Events[0].Index)
		}
		got := s.EventsAfter(uint64(n-2), 10)
		if len(got) != 2 || got[0].Index != uint64(n-1) {
			t.Fatalf("EventsAfter: %+v", got)
		}
	})
	f.ApplyEntry(uint64(n+1), enc(t, TypeMachineUpsert, Upsert[Machine]{meta(), Machine{Name: "m"}}))
	f.View(func(s *State) {
		if len(s.Events) != MaxEvents+1 {
			t.Fatalf("events after one more: %d", len(s.Events))
		}
	})
}

func TestRaftApplyNonCommand(t *testing.T) {
	f := New(Config{})
	if got := f.Apply(&raft.Log{Type: raft.LogNoop, Index: 1}); got != nil {
		t.Fatalf("noop applied: %v", got)
	}
}

func FuzzApplyEntry(f *testing.F) {
	for _, e := range population(f) {
		f.Add(e)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 0 {
			if _, ok := handlers[Type(data[0])&^IgnoreUnknown]; !ok {
				return // unknown types stop the member by design
			}
		}
		fs := New(Config{})
		applyAll(t, fs, population(t))
		fs.ApplyEntry(1000, data)
		_ = snapshotBytes(t, fs)
	})
}

type memSink struct{ bytes.Buffer }

func (m *memSink) ID() string    { return "mem" }
func (m *memSink) Cancel() error { return nil }
func (m *memSink) Close() error  { return nil }

func TestSnapshotIsolatedFromLaterApplies(t *testing.T) {
	f := New(Config{})
	applyAll(t, f, population(t))
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	want := snapshotBytes(t, f)
	// Applies after Snapshot (while Persist may still run) must not show.
	f.ApplyEntry(100, enc(t, TypeMachineUpsert, Upsert[Machine]{meta(), Machine{Name: "node-a", Labels: map[string]string{"rack": "r2"}}}))
	f.ApplyEntry(101, enc(t, TypeMachineDelete, Delete{meta(), "node-a"}))
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sink.Bytes(), want) {
		t.Fatal("the snapshot changed after later applies")
	}
}

func TestJoinTokenRetryBySameJoiner(t *testing.T) {
	f := New(Config{})
	applyAll(t, f, [][]byte{enc(t, TypeJoinTokenCreate, Upsert[JoinToken]{meta(), JoinToken{ID: "jt", Hash: "h", Role: JoinAgent, Expires: t0.Add(time.Hour)}})})
	use := func(i uint64, by string, at time.Duration, window time.Duration) error {
		c := ConsumeJoinToken{Meta: Meta{Actor: by, Time: t0.Add(at)}, Hash: "h", By: by, RetryWindow: window}
		return f.ApplyEntry(i, enc(t, TypeJoinTokenConsume, c)).Err
	}
	steps := []struct {
		by     string
		at     time.Duration
		window time.Duration
		ok     bool
	}{
		{"hv1", 0, JoinRetryWindow, true},                              // first use
		{"hv1", time.Minute, JoinRetryWindow, true},                    // its answer was lost: retry
		{"hv2", 2 * time.Minute, JoinRetryWindow, false},               // someone else: refused
		{"hv1", 2 * time.Minute, 0, false},                             // an older entry (no window): single use
		{"hv1", JoinRetryWindow + time.Second, JoinRetryWindow, false}, // too late
	}
	for i, s := range steps {
		if err := use(uint64(i+2), s.by, s.at, s.window); (err == nil) != s.ok {
			t.Errorf("step %d (%s at +%s): err %v, want ok=%v", i, s.by, s.at, err, s.ok)
		}
	}
	f.View(func(s *State) {
		if tok := s.JoinTokens["jt"]; tok.UsedBy != "hv1" || !tok.UsedAt.Equal(t0) {
			t.Errorf("token %+v: a retry must not move its first use", tok)
		}
	})
}
