package member

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// noObservers is a Raft that never reports a leader change: whileLeader
// then relies on its one-second check.
type noObservers struct{}

func (noObservers) RegisterObserver(*raft.Observer)   {}
func (noObservers) DeregisterObserver(*raft.Observer) {}

// leaderTask is a task that reports its starts and stops.
type leaderTask struct {
	starts, stops chan struct{}
	fail          atomic.Bool // the next run fails at once
}

func (lt *leaderTask) run(ctx context.Context) error {
	lt.starts <- struct{}{}
	defer func() { lt.stops <- struct{}{} }()
	if lt.fail.Swap(false) {
		return errors.New("boom")
	}
	<-ctx.Done()
	return nil
}

func waitSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s within 5 s", what)
	}
}

func TestWhileLeader(t *testing.T) {
	var leader atomic.Bool
	lt := &leaderTask{starts: make(chan struct{}, 4), stops: make(chan struct{}, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		whileLeader(ctx, leader.Load, noObservers{}, 100*time.Millisecond, slog.New(slog.DiscardHandler), "test task", lt.run)
	}()

	select {
	case <-lt.starts:
		t.Fatal("started on a follower")
	case <-time.After(1500 * time.Millisecond):
	}
	leader.Store(true)
	waitSignal(t, lt.starts, "start on gaining leadership")
	leader.Store(false)
	waitSignal(t, lt.stops, "stop on losing leadership")

	lt.fail.Store(true)
	leader.Store(true)
	waitSignal(t, lt.starts, "start on leading again")
	waitSignal(t, lt.stops, "end of the failed run")
	waitSignal(t, lt.starts, "restart after a failure")

	cancel()
	waitSignal(t, lt.stops, "stop on shutdown")
	<-done
}

func TestCheckBoot(t *testing.T) {
	tests := []struct {
		b    *BootConfig
		want string
	}{
		{nil, ""},
		{&BootConfig{Interface: "eno1", ImagesDir: "/var/lib/vela/images"}, ""},
		{&BootConfig{ImagesDir: "/x"}, "--boot-interface"},
		{&BootConfig{Interface: "eno1"}, "--boot-images"},
	}
	for _, tt := range tests {
		err := checkBoot(tt.b)
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("checkBoot(%+v) = %v, want %q", tt.b, err, tt.want)
		}
	}
}

func TestBootAddress(t *testing.T) {
	if a, err := bootAddress("lo", "127.0.0.99/8", netip.Addr{}); err != nil || a.String() != "127.0.0.1/8" {
		t.Errorf("lo in 127.0.0.0/8: %v %v", a, err)
	}
	if _, err := bootAddress("lo", "10.0.0.1/24", netip.Addr{}); err == nil || !strings.Contains(err.Error(), "ip addr add") {
		t.Errorf("lo in 10.0.0.0/24: %v", err)
	}
	if _, err := bootAddress("no-such-if0", "10.0.0.1/24", netip.Addr{}); err == nil {
		t.Error("a missing interface was accepted")
	}
}
