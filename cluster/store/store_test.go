package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/vela-appliance/vela/cluster/fsm"
)

type member struct {
	s     *Store
	fsm   *fsm.FSM
	trans *raft.InmemTransport
	dir   string
}

func newMember(t *testing.T, id, logStore, dir string) *member {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	_, trans := raft.NewInmemTransport(raft.ServerAddress(id))
	f := fsm.New(fsm.Config{})
	s, err := Open(Config{DataDir: dir, ID: id, Transport: trans, FSM: f, LogStore: logStore})
	if err != nil {
		t.Fatal(err)
	}
	m := &member{s: s, fsm: f, trans: trans, dir: dir}
	t.Cleanup(func() { _ = s.raft.Shutdown().Error(); _ = s.closer.Close() })
	return m
}

func connect(ms ...*member) {
	for _, a := range ms {
		for _, b := range ms {
			if a != b {
				a.trans.Connect(b.trans.LocalAddr(), b.trans)
			}
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func waitLeaderCh(t *testing.T, m *member) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case isLeader := <-m.s.raft.LeaderCh():
			if isLeader {
				return
			}
		case <-timeout:
			t.Fatalf("%s did not become leader", m.s.ID())
		}
	}
}

func put(t *testing.T, m *member, name string) fsm.Result {
	t.Helper()
	cmd, err := fsm.Encode(fsm.TypeMachineUpsert, fsm.Upsert[fsm.Machine]{Meta: fsm.Meta{Actor: "test"}, Object: fsm.Machine{Name: name}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.s.Apply(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func has(m *member, name string) bool {
	ok := false
	m.fsm.View(func(s *fsm.State) { _, ok = s.Machines[name] })
	return ok
}

// threeMembers bootstraps a and adds b and c as voters.
func threeMembers(t *testing.T, logStore string) (a, b, c *member) {
	a, b, c = newMember(t, "a", logStore, ""), newMember(t, "b", logStore, ""), newMember(t, "c", logStore, "")
	connect(a, b, c)
	if err := a.s.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	waitLeaderCh(t, a)
	for _, m := range []*member{b, c} {
		if err := a.s.AddMember(context.Background(), m.s.ID(), string(m.trans.LocalAddr()), true); err != nil {
			t.Fatal(err)
		}
	}
	return a, b, c
}

func TestReplicateBothLogStores(t *testing.T) {
	for _, ls := range LogStores {
		t.Run(ls, func(t *testing.T) {
			a, b, c := threeMembers(t, ls)
			r := put(t, a, "m1")
			if r.Err != nil || r.Index == 0 {
				t.Fatalf("apply: %+v", r)
			}
			for _, m := range []*member{b, c} {
				waitFor(t, "replication to "+m.s.ID(), func() bool { return has(m, "m1") })
			}
			if _, err := b.s.Apply(context.Background(), []byte{byte(fsm.TypeMachineUpsert)}); !errors.Is(err, ErrNotLeader) {
				t.Fatalf("apply on follower: %v, want ErrNotLeader", err)
			}
			if _, err := b.s.ReadIndex(context.Background()); !errors.Is(err, ErrNotLeader) {
				t.Fatalf("read index on follower: %v", err)
			}
			if idx, err := a.s.ReadIndex(context.Background()); err != nil || idx < r.Index {
				t.Fatalf("read index on leader: %d %v", idx, err)
			}
		})
	}
}

func TestRemoveAndLeadershipTransfer(t *testing.T) {
	a, b, c := threeMembers(t, "wal")
	if err := a.s.RemoveMember(context.Background(), "c"); err != nil {
		t.Fatal(err)
	}
	if n, _ := a.s.Voters(); n != 2 {
		t.Fatalf("voters after remove: %d", n)
	}
	_ = c
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// b must lead without an election timeout having to pass with a dead a:
	// the transfer told it to start an election at once.
	waitFor(t, "b to lead after transfer", b.s.IsLeader)
}

func TestRecoverAfterQuorumLoss(t *testing.T) {
	a, b, c := threeMembers(t, "wal")
	put(t, a, "before-loss")
	waitFor(t, "replication", func() bool { return has(b, "before-loss") && has(c, "before-loss") })
	// b and c are lost for good; a alone cannot commit.
	for _, m := range []*member{b, c} {
		if err := m.s.raft.Shutdown().Error(); err != nil {
			t.Fatal(err)
		}
	}
	dir := a.dir
	_ = a.s.raft.Shutdown().Error()
	_ = a.s.closer.Close()
	if err := Recover("wal", dir, "a", []Peer{{"b", "b"}}); err == nil {
		t.Fatal("recover without this member in the list succeeded")
	}
	if err := Recover("wal", dir, "a", []Peer{{"a", "a"}}); err != nil {
		t.Fatal(err)
	}
	a2 := newMember(t, "a", "wal", dir)
	waitLeaderCh(t, a2)
	waitFor(t, "the committed entry after recovery", func() bool { return has(a2, "before-loss") })
	put(t, a2, "after-recovery")
}

func TestRecoverRefusesEmptyDir(t *testing.T) {
	if err := Recover("wal", t.TempDir(), "a", []Peer{{"a", "a"}}); err == nil {
		t.Fatal("recover of an empty data dir succeeded")
	}
}

func TestClaimClusterID(t *testing.T) {
	dir := t.TempDir()
	if err := ClaimClusterID(dir, "c-1"); err != nil {
		t.Fatal(err)
	}
	if err := ClaimClusterID(dir, "c-1"); err != nil {
		t.Fatalf("same cluster refused: %v", err)
	}
	err := ClaimClusterID(dir, "c-2")
	if !errors.Is(err, ErrOtherCluster) {
		t.Fatalf("other cluster: %v", err)
	}
}

func TestParsePeers(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"a=127.0.0.1:1,b=127.0.0.1:2", 2, true},
		{"a=127.0.0.1:1,a=127.0.0.1:2", 0, false},
		{"a", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := ParsePeers(tt.in)
		if (err == nil) != tt.ok || len(got) != tt.want {
			t.Errorf("ParsePeers(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func FuzzParsePeers(f *testing.F) {
	f.Add("a=127.0.0.1:8444,b=10.0.0.2:8444")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePeers(s)
		if err == nil && len(ps) == 0 {
			t.Fatal("no error and no peers")
		}
	})
}

func TestSnapshotAndRestartFromDisk(t *testing.T) {
	dir := t.TempDir()
	a := newMember(t, "a", "wal", dir)
	if err := a.s.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	waitLeaderCh(t, a)
	for i := range 50 {
		put(t, a, fmt.Sprintf("m%d", i))
	}
	if err := a.s.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	put(t, a, "after-snapshot")
	_ = a.s.raft.Shutdown().Error()
	_ = a.s.closer.Close()
	b := newMember(t, "a", "wal", dir)
	waitFor(t, "state restored from snapshot + log", func() bool { return has(b, "m0") && has(b, "m49") && has(b, "after-snapshot") })
}
