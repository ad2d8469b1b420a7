package fsm

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func leases(t testing.TB, at time.Time, put []BootLease, del ...string) []byte {
	return enc(t, TypeBootLeases|IgnoreUnknown, BootLeases{Meta: Meta{Actor: "member:m1", Time: at}, Put: put, Delete: del})
}

func TestBootLeases(t *testing.T) {
	exp := t0.Add(time.Hour)
	tests := []struct {
		name    string
		entries func(t testing.TB) [][]byte
		want    map[string]BootLease
		wantErr error
	}{
		{"put, MAC lowercased", func(t testing.TB) [][]byte {
			return [][]byte{leases(t, t0, []BootLease{{MAC: "52:54:00:00:00:AA", IP: "10.0.0.100", Expiry: exp}, {MAC: "52:54:00:00:00:bb", IP: "10.0.0.101", Expiry: exp, Known: true}})}
		}, map[string]BootLease{
			"52:54:00:00:00:aa": {MAC: "52:54:00:00:00:aa", IP: "10.0.0.100", Expiry: exp},
			"52:54:00:00:00:bb": {MAC: "52:54:00:00:00:bb", IP: "10.0.0.101", Expiry: exp, Known: true},
		}, nil},
		{"renewal replaces, release deletes", func(t testing.TB) [][]byte {
			return [][]byte{
				leases(t, t0, []BootLease{{MAC: "52:54:00:00:00:aa", IP: "10.0.0.100", Expiry: exp}, {MAC: "52:54:00:00:00:bb", IP: "10.0.0.101", Expiry: exp}}),
				leases(t, t0.Add(time.Minute), []BootLease{{MAC: "52:54:00:00:00:aa", IP: "10.0.0.100", Expiry: exp.Add(time.Hour)}}, "52:54:00:00:00:BB"),
			}
		}, map[string]BootLease{"52:54:00:00:00:aa": {MAC: "52:54:00:00:00:aa", IP: "10.0.0.100", Expiry: exp.Add(time.Hour)}}, nil},
		{"an address moves to its new MAC", func(t testing.TB) [][]byte {
			return [][]byte{
				leases(t, t0, []BootLease{{MAC: "52:54:00:00:00:aa", IP: "10.0.0.100", Expiry: exp}}),
				leases(t, t0, []BootLease{{MAC: "52:54:00:00:00:cc", IP: "10.0.0.100", Expiry: exp}}),
			}
		}, map[string]BootLease{"52:54:00:00:00:cc": {MAC: "52:54:00:00:00:cc", IP: "10.0.0.100", Expiry: exp}}, nil},
		{"long expired leases dropped by a later batch", func(t testing.TB) [][]byte {
			return [][]byte{
				leases(t, t0, []BootLease{{MAC: "52:54:00:00:00:aa", IP: "10.0.0.100", Expiry: exp}}),
				leases(t, exp.Add(BootLeaseKeep+time.Second), []BootLease{{MAC: "52:54:00:00:00:cc", IP: "10.0.0.102", Expiry: exp.Add(BootLeaseKeep + time.Hour)}}),
			}
		}, map[string]BootLease{"52:54:00:00:00:cc": {MAC: "52:54:00:00:00:cc", IP: "10.0.0.102", Expiry: exp.Add(BootLeaseKeep + time.Hour)}}, nil},
		{"not an IPv4 address", func(t testing.TB) [][]byte {
			return [][]byte{leases(t, t0, []BootLease{{MAC: "52:54:00:00:00:aa", IP: "fe80::1", Expiry: exp}})}
		}, map[string]BootLease{}, ErrConflict},
		{"no MAC", func(t testing.TB) [][]byte {
			return [][]byte{leases(t, t0, []BootLease{{IP: "10.0.0.100", Expiry: exp}})}
		}, map[string]BootLease{}, ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(Config{})
			var err error
			for i, e := range tt.entries(t) {
				if r := f.ApplyEntry(uint64(i+1), e); r.Err != nil {
					err = r.Err
				}
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			f.View(func(s *State) {
				if diff := cmp.Diff(tt.want, s.BootLeases); diff != "" {
					t.Errorf("leases (-want +got):\n%s", diff)
				}
				if len(s.Events) != 0 {
					t.Errorf("leases recorded %d events, want none", len(s.Events))
				}
			})
		})
	}
}

// TestBootLeasesSnapshotRestore: leases survive a snapshot round trip,
// and two FSMs applying the same batches agree byte for byte.
func TestBootLeasesSnapshotRestore(t *testing.T) {
	entries := [][]byte{
		leases(t, t0, []BootLease{{MAC: "52:54:00:00:00:aa", IP: "10.0.0.100", Expiry: t0.Add(time.Hour)}, {MAC: "52:54:00:00:00:bb", IP: "10.0.0.101", Expiry: t0.Add(time.Hour), Known: true}}),
		leases(t, t0.Add(time.Minute), []BootLease{{MAC: "52:54:00:00:00:cc", IP: "10.0.0.102", Expiry: t0.Add(2 * time.Hour)}}, "52:54:00:00:00:aa"),
	}
	src, twin := New(Config{}), New(Config{})
	applyAll(t, src, entries)
	applyAll(t, twin, entries)
	if !bytes.Equal(snapshotBytes(t, src), snapshotBytes(t, twin)) {
		t.Fatal("two FSMs applying the same lease batches differ")
	}
	dst := New(Config{})
	if err := dst.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, src)))); err != nil {
		t.Fatal(err)
	}
	var want, got map[string]BootLease
	src.View(func(s *State) { want = s.BootLeases })
	dst.View(func(s *State) { got = s.BootLeases })
	if len(want) != 2 {
		t.Fatalf("population has %d leases, want 2", len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after restore (-want +got):\n%s", diff)
	}
	// A snapshot from before type 27 has no boot_leases: restored as empty.
	old := New(Config{})
	if err := old.Restore(io.NopCloser(bytes.NewReader([]byte(`{"version":1,"state":{"last_index":3}}`)))); err != nil {
		t.Fatal(err)
	}
	old.View(func(s *State) {
		if s.BootLeases == nil {
			t.Error("a snapshot without boot_leases restored a nil map")
		}
	})
}
