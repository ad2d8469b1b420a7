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

// TestBootAddressFrom: --boot-interface NAME and auto against a fake
// interface list, and the messages when nothing fits.
func TestBootAddressFrom(t *testing.T) {
	ifs := func(list ...bootIface) listIfaces { return func() ([]bootIface, error) { return list, nil } }
	a := netip.MustParseAddr
	lo := bootIface{"lo", []netip.Addr{a("127.0.0.1"), a("::1")}}
	eth0 := bootIface{"eth0", []netip.Addr{a("192.168.1.5"), a("fe80::1")}}
	eth1 := bootIface{"eth1", []netip.Addr{a("10.20.0.11")}}
	eth1two := bootIface{"eth1", []netip.Addr{a("10.20.0.40"), a("10.20.0.11")}}
	br := bootIface{"br0", []netip.Addr{a("10.20.0.12")}}
	down := bootIface{"eth2", nil}
	tests := []struct {
		name, iface string
		list        listIfaces
		prefer      netip.Addr
		wantIf      string
		wantAddr    string
		wantErr     string
	}{
		{"auto picks the NIC in the boot network", "auto", ifs(lo, eth0, eth1, down), netip.Addr{}, "eth1", "10.20.0.11/24", ""},
		{"auto: the API address breaks a tie", "auto", ifs(eth1, br), a("10.20.0.12"), "br0", "10.20.0.12/24", ""},
		{"auto: two candidates without a tie-break", "auto", ifs(eth1, br), netip.Addr{}, "", "", "eth1, br0 all have an IPv4 address in the boot network 10.20.0.0/24; name the one"},
		{"auto: none in the network", "auto", ifs(lo, eth0, down), netip.Addr{}, "", "",
			"no interface has an IPv4 address in the boot network 10.20.0.0/24 (have: lo 127.0.0.1, eth0 192.168.1.5, eth2 (no IPv4))"},
		{"named", "eth1", ifs(eth0, eth1), netip.Addr{}, "eth1", "10.20.0.11/24", ""},
		{"named: prefer the API address", "eth1", ifs(eth1two), a("10.20.0.11"), "eth1", "10.20.0.11/24", ""},
		{"named: first address otherwise", "eth1", ifs(eth1two), netip.Addr{}, "eth1", "10.20.0.40/24", ""},
		{"named: not in the network", "eth0", ifs(eth0, eth1), netip.Addr{}, "", "", "ip addr add ADDR/24 dev eth0"},
		{"named: missing", "eno9", ifs(eth0), netip.Addr{}, "", "", "--boot-interface eno9: no such interface on this machine (have: eth0 192.168.1.5)"},
		{"listing fails", "auto", func() ([]bootIface, error) { return nil, errors.New("netlink: boom") }, netip.Addr{}, "", "", "netlink: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotIf, got, err := bootAddressFrom(tt.list, tt.iface, "10.20.0.1/24", tt.prefer)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || gotIf != tt.wantIf || got.String() != tt.wantAddr {
				t.Errorf("= %s %v %v, want %s %s", gotIf, got, err, tt.wantIf, tt.wantAddr)
			}
		})
	}
}

// The real interface list: lo is in 127.0.0.0/8 on every Linux machine.
func TestBootAddressSystem(t *testing.T) {
	if name, a, err := bootAddressFrom(systemIfaces, "auto", "127.0.0.99/8", netip.Addr{}); err != nil || name != "lo" || a.String() != "127.0.0.1/8" {
		t.Errorf("auto in 127.0.0.0/8: %s %v %v", name, a, err)
	}
	if _, _, err := bootAddressFrom(systemIfaces, "no-such-if0", "10.0.0.1/24", netip.Addr{}); err == nil {
		t.Error("a missing interface was accepted")
	}
}
