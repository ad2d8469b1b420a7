package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func discovered(t testing.TB, mac, ip string, at time.Time) []byte {
	return enc(t, TypeMachineDiscovered, Upsert[DiscoveredMachine]{Meta{Actor: "member:m1", Time: at}, DiscoveredMachine{MAC: mac, IP: ip, LastSeen: at}})
}

func TestDay2BootStateSnapshotRestore(t *testing.T) {
	src := New(Config{})
	applyAll(t, src, [][]byte{
		enc(t, TypeInstallConfigPut, PutInstallConfig{meta(), InstallConfig{YAML: "version: 1\n", SHA256: "ab"},
			[]Machine{{Name: "m1", MAC: "52:54:00:00:00:01", Role: "member", State: MachineInstalled, Disk: "/dev/vda"}}}),
		discovered(t, "52:54:00:00:00:99", "10.0.0.99", t0),
	})
	dst := New(Config{})
	if err := dst.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, src)))); err != nil {
		t.Fatal(err)
	}
	var want, got *State
	src.View(func(s *State) { want = s })
	dst.View(func(s *State) { got = s })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after restore (-want +got):\n%s", diff)
	}
	if got.InstallConfig == nil || got.InstallConfig.ModifyIndex != 1 || len(got.Discovered) != 1 || got.Machines["m1"].Disk != "/dev/vda" {
		t.Errorf("restored state lacks the day-2 boot tables: %+v %+v", got.InstallConfig, got.Discovered)
	}
}

func TestMachineDiscovered(t *testing.T) {
	tests := []struct {
		name    string
		entries func(t testing.TB) [][]byte
		check   func(t *testing.T, s *State)
		wantErr error
	}{
		{"first seen kept, fields updated, one event", func(t testing.TB) [][]byte {
			return [][]byte{discovered(t, "52:54:00:00:00:AA", "10.0.0.5", t0), discovered(t, "52:54:00:00:00:aa", "10.0.0.6", t0.Add(time.Minute))}
		}, func(t *testing.T, s *State) {
			d := s.Discovered["52:54:00:00:00:aa"]
			if !d.FirstSeen.Equal(t0) || !d.LastSeen.Equal(t0.Add(time.Minute)) || d.IP != "10.0.0.6" || len(s.Events) != 1 {
				t.Errorf("got %+v with %d events", d, len(s.Events))
			}
		}, nil},
		{"a known MAC is refused", func(t testing.TB) [][]byte {
			return [][]byte{
				enc(t, TypeMachineUpsert, Upsert[Machine]{meta(), Machine{Name: "hv", MAC: "52:54:00:00:00:01"}}),
				discovered(t, "52:54:00:00:00:01", "", t0),
			}
		}, nil, ErrConflict},
		{"admitting forgets the discovered entry", func(t testing.TB) [][]byte {
			return [][]byte{
				discovered(t, "52:54:00:00:00:02", "", t0),
				enc(t, TypeMachineUpsert, Upsert[Machine]{meta(), Machine{Name: "hv", MAC: "52:54:00:00:00:02", State: MachineAdmitted}}),
			}
		}, func(t *testing.T, s *State) {
			if len(s.Discovered) != 0 {
				t.Errorf("discovered after admission: %+v", s.Discovered)
			}
		}, nil},
		{"bounded: the least recently seen goes", func(t testing.TB) [][]byte {
			var out [][]byte
			for i := 0; i <= MaxDiscovered; i++ {
				out = append(out, discovered(t, fmt.Sprintf("52:54:00:00:%02x:%02x", i>>8, i&0xff), "", t0.Add(time.Duration(i)*time.Second)))
			}
			return out
		}, func(t *testing.T, s *State) {
			if _, ok := s.Discovered["52:54:00:00:00:00"]; ok || len(s.Discovered) != MaxDiscovered {
				t.Errorf("%d discovered; the oldest kept: %v", len(s.Discovered), ok)
			}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(Config{})
			var last Result
			for i, e := range tt.entries(t) {
				last = f.ApplyEntry(uint64(i+1), e)
				if last.Err != nil && tt.wantErr == nil {
					t.Fatalf("entry %d: %v", i+1, last.Err)
				}
			}
			if tt.wantErr != nil && !errors.Is(last.Err, tt.wantErr) {
				t.Fatalf("last entry: %v, want %v", last.Err, tt.wantErr)
			}
			if tt.check != nil {
				f.View(func(s *State) { tt.check(t, s) })
			}
		})
	}
}

func TestInstallConfigKeepsKnownMachines(t *testing.T) {
	f := New(Config{})
	applyAll(t, f, [][]byte{
		enc(t, TypeMachineUpsert, Upsert[Machine]{meta(), Machine{Name: "m1", MAC: "52:54:00:00:00:01", State: MachineReported, BootToken: "x"}}),
		enc(t, TypeInstallConfigPut, PutInstallConfig{meta(), InstallConfig{YAML: "version: 1\n"},
			[]Machine{{Name: "m1", MAC: "52:54:00:00:00:01"}, {Name: "m2", MAC: "52:54:00:00:00:02"}}}),
	})
	f.View(func(s *State) {
		if s.Machines["m1"].State != MachineReported || s.Machines["m1"].BootToken != "x" || s.Machines["m2"].ModifyIndex != 2 {
			t.Errorf("machines: %+v", s.Machines)
		}
		if s.InstallConfig.StoredBy != "admin" || !s.InstallConfig.Stored.Equal(t0) {
			t.Errorf("install config not stamped from the command: %+v", s.InstallConfig)
		}
	})
	if r := f.ApplyEntry(3, enc(t, TypeInstallConfigPut, PutInstallConfig{Meta: meta()})); !errors.Is(r.Err, ErrConflict) {
		t.Errorf("empty config: %v", r.Err)
	}
}
