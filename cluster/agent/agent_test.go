package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/cluster/agent/hypervisor"
	"github.com/vela-appliance/vela/cluster/agent/node"
)

func desired(name, tenant, addr string) DesiredNode {
	p := netip.MustParsePrefix(addr)
	gw := netip.PrefixFrom(p.Masked().Addr().Next(), p.Bits())
	return DesiredNode{
		Spec:    node.Spec{Name: name, Tenant: tenant, Address: p, Gateway: gw.Addr()},
		Network: node.TenantNet{Tenant: tenant, Gateway: gw},
	}
}

func newTestAgent(t *testing.T) (*Agent, *fakeControlPlane, *fakeHypervisor, *fakeNodes) {
	cp, hv, nodes := &fakeControlPlane{}, newFakeHypervisor(), newFakeNodes()
	a, err := New(Config{Hostname: "hv-1", ControlPlane: cp, Hypervisor: hv, Nodes: nodes, HostMemory: hv.memory})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a, cp, hv, nodes
}

func TestReconcile(t *testing.T) {
	ctx := context.Background()
	a, cp, hv, nodes := newTestAgent(t)
	if cp.reg == nil || cp.reg.Hostname != "hv-1" || cp.reg.MemoryBytes != 22<<30 { // 24 GiB less the 2 GiB reserve
		t.Fatalf("registration = %+v", cp.reg)
	}

	// Two new nodes: created and started, reported creating then running.
	cp.desired = []DesiredNode{desired("n1", "acme", "10.20.0.10/24"), desired("n2", "beta", "10.21.0.10/24")}
	if err := a.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	want := []NodeStatus{{"n1", Creating, ""}, {"n1", Running, ""}, {"n2", Creating, ""}, {"n2", Running, ""}}
	if diff := cmp.Diff(want, cp.takeReports()); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"define:n1", "start:n1", "define:n2", "start:n2"}, hv.calls); diff != "" {
		t.Errorf("libvirt calls (-want +got):\n%s", diff)
	}
	if a.usage.Nodes != 2 || a.usage.AllocatedMemory != 8<<30 || a.usage.AllocatedVCPUs != 4 {
		t.Errorf("usage = %+v", a.usage)
	}

	// Nothing changed: no calls, no reports.
	hv.calls = nil
	if err := a.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if len(hv.calls) != 0 || len(cp.reports) != 0 {
		t.Errorf("steady state made calls %v and reports %v", hv.calls, cp.reports)
	}

	// A restarted agent adopts running domains: no define, no start.
	b, err := New(Config{Hostname: "hv-1", ControlPlane: cp, Hypervisor: hv, Nodes: nodes})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if len(hv.calls) != 0 {
		t.Errorf("adoption made libvirt calls %v", hv.calls)
	}
	if diff := cmp.Diff([]NodeStatus{{"n1", Running, ""}, {"n2", Running, ""}}, cp.takeReports()); diff != "" {
		t.Errorf("adoption reports (-want +got):\n%s", diff)
	}

	// A node that stopped (crash, hypervisor reboot) is started again.
	hv.doms["n1"] = hypervisor.Shutoff
	if err := b.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"define:n1", "start:n1"}, hv.calls); diff != "" {
		t.Errorf("restart calls (-want +got):\n%s", diff)
	}
	cp.takeReports()

	// n2 no longer desired: undefined, files removed, reported deleted.
	hv.calls = nil
	cp.desired = cp.desired[:1]
	if err := b.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"undefine:n2"}, hv.calls); diff != "" {
		t.Errorf("delete calls (-want +got):\n%s", diff)
	}
	if nodes.dirs["n2"] {
		t.Error("n2's files were not removed")
	}
	if diff := cmp.Diff([]NodeStatus{{"n2", Deleted, ""}}, cp.takeReports()); diff != "" {
		t.Errorf("delete reports (-want +got):\n%s", diff)
	}
}

func TestReconcileFailures(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		setup    func(*fakeControlPlane, *fakeHypervisor)
		wantErr  string
		wantLast NodeStatus
	}{
		{
			name:     "start fails",
			setup:    func(cp *fakeControlPlane, hv *fakeHypervisor) { hv.failOn = "start:n1" },
			wantErr:  "injected failure of start:n1",
			wantLast: NodeStatus{"n1", Failed, `node "n1": injected failure of start:n1`},
		},
		{
			name: "invalid spec",
			setup: func(cp *fakeControlPlane, hv *fakeHypervisor) {
				cp.desired[0].Spec.Gateway = cp.desired[0].Spec.Address.Addr()
			},
			wantErr:  "gateway",
			wantLast: NodeStatus{"n1", Failed, `node "n1": gateway 10.20.0.10 must be another address in 10.20.0.0/24`},
		},
		{
			name:     "no capacity",
			setup:    func(cp *fakeControlPlane, hv *fakeHypervisor) { hv.memory = 5 << 30 },
			wantLast: NodeStatus{"n1", Failed, "no capacity: 0 MiB of memory allocated to nodes, 4096 MiB asked, 3072 MiB for nodes (host 5120 MiB - 2048 MiB reserved, x1.00 overcommit)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp, hv, nodes := &fakeControlPlane{}, newFakeHypervisor(), newFakeNodes()
			cp.desired = []DesiredNode{desired("n1", "acme", "10.20.0.10/24")}
			tc.setup(cp, hv)
			a, err := New(Config{Hostname: "hv-1", ControlPlane: cp, Hypervisor: hv, Nodes: nodes, HostMemory: hv.memory})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Register(ctx); err != nil {
				t.Fatal(err)
			}
			err = a.Reconcile(ctx)
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Reconcile error = %v, want %q", err, tc.wantErr)
			}
			r := cp.takeReports()
			if len(r) == 0 {
				t.Fatal("no report")
			}
			if diff := cmp.Diff(tc.wantLast, r[len(r)-1]); diff != "" {
				t.Errorf("last report (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReconcileLibvirtDown(t *testing.T) {
	a, _, hv, _ := newTestAgent(t)
	hv.listErr = errors.New("connect to libvirtd: no such file")
	err := a.Reconcile(context.Background())
	if err == nil || !strings.Contains(err.Error(), "list domains") {
		t.Fatalf("Reconcile = %v, want a list domains error", err)
	}
	if a.usage.LibvirtReachable {
		t.Error("usage says libvirt is reachable")
	}
}

// TestRunReactsToEvents: with an hour between ticks, a libvirt event about
// a stopped node makes the running agent start it again at once.
func TestRunReactsToEvents(t *testing.T) {
	cp, hv, nodes := &fakeControlPlane{reported: make(chan NodeStatus, 16)}, newFakeHypervisor(), newFakeNodes()
	cp.desired = []DesiredNode{desired("n1", "acme", "10.20.0.10/24")}
	a, err := New(Config{Hostname: "hv-1", ControlPlane: cp, Hypervisor: hv, Nodes: nodes, HostMemory: hv.memory, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, nil) }()
	defer func() { cancel(); <-done }()
	want := func(state NodeState) {
		t.Helper()
		select {
		case s := <-cp.reported:
			if s.State != state {
				t.Fatalf("report %+v, want %s", s, state)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s report within 10s", state)
		}
	}
	want(Creating)
	want(Running)
	hv.mu.Lock()
	hv.doms["n1"] = hypervisor.Shutoff
	hv.calls = nil
	hv.mu.Unlock()
	hv.events <- "n1"
	// Creating again is not reported (already known); wait for the start.
	deadline := time.Now().Add(10 * time.Second)
	for {
		hv.mu.Lock()
		st := hv.doms["n1"]
		hv.mu.Unlock()
		if st == hypervisor.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("n1 was not started again after its stop event")
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

// TestReconcileNotReady: a node whose dockerd does not answer is reported
// failed with the reason, not running.
func TestReconcileNotReady(t *testing.T) {
	a, cp, _, nodes := newTestAgent(t)
	cp.desired = []DesiredNode{desired("n1", "acme", "10.20.0.10/24")}
	nodes.notReady["n1"] = errors.New(`node "n1": dockerd does not listen on 10.20.0.10:2376`)
	if err := a.Reconcile(context.Background()); err == nil {
		t.Fatal("Reconcile succeeded with a node whose dockerd is down")
	}
	want := []NodeStatus{{"n1", Creating, ""}, {"n1", Failed, `node "n1": dockerd does not listen on 10.20.0.10:2376`}}
	if diff := cmp.Diff(want, cp.takeReports()); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
	delete(nodes.notReady, "n1")
	if err := a.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]NodeStatus{{"n1", Running, ""}}, cp.takeReports()); diff != "" {
		t.Errorf("reports after recovery (-want +got):\n%s", diff)
	}
}

// A node whose dockerd is only slow to start (node.ErrNotReady) stays
// "creating" with the reason for NotReadyAttempts-1 passes, then is failed;
// an answer resets the count, and a running node that stops answering keeps
// "running" until the attempts run out.
func TestReconcileSlowDockerd(t *testing.T) {
	a, cp, _, nodes := newTestAgent(t)
	cp.desired = []DesiredNode{desired("n1", "acme", "10.20.0.10/24")}
	slow := fmt.Errorf(`node "n1": dockerd does not listen on 10.20.0.10:2376: %w`, node.ErrNotReady)
	nodes.notReady["n1"] = slow
	for i := 1; i < NotReadyAttempts; i++ {
		_ = a.Reconcile(context.Background())
		rs := cp.takeReports()
		last := rs[len(rs)-1]
		if last.State != Creating || !strings.Contains(last.Reason, fmt.Sprintf("attempt %d of %d", i, NotReadyAttempts)) {
			t.Fatalf("pass %d: reports %+v, want creating with the attempt", i, rs)
		}
	}
	_ = a.Reconcile(context.Background())
	if rs := cp.takeReports(); len(rs) != 1 || rs[0].State != Failed {
		t.Fatalf("pass %d: reports %+v, want failed", NotReadyAttempts, rs)
	}
	delete(nodes.notReady, "n1")
	if err := a.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	cp.takeReports()
	nodes.notReady["n1"] = slow
	for i := 1; i < NotReadyAttempts; i++ {
		_ = a.Reconcile(context.Background())
		if rs := cp.takeReports(); len(rs) != 0 {
			t.Fatalf("a running node slow to answer (pass %d) changed state: %+v", i, rs)
		}
	}
	_ = a.Reconcile(context.Background())
	if rs := cp.takeReports(); len(rs) != 1 || rs[0].State != Failed {
		t.Fatalf("after %d passes: %+v, want failed", NotReadyAttempts, rs)
	}
}

// TestHeartbeatsDuringSlowReconcile: a reconcile waiting for a slow node
// does not hold the heartbeats back (the hypervisor must not look
// unreachable meanwhile).
func TestHeartbeatsDuringSlowReconcile(t *testing.T) {
	cp, hv, nodes := &fakeControlPlane{}, newFakeHypervisor(), newFakeNodes()
	cp.desired = []DesiredNode{desired("n1", "acme", "10.20.0.10/24")}
	release := make(chan struct{})
	nodes.wait = release
	a, err := New(Config{Hostname: "hv-1", ControlPlane: cp, Hypervisor: hv, Nodes: nodes, HostMemory: hv.memory, Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, nil) }()
	defer func() { cancel(); <-done }()
	defer close(release)
	deadline := time.Now().Add(10 * time.Second)
	for {
		cp.mu.Lock()
		beats := cp.beats
		cp.mu.Unlock()
		if beats >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d heartbeats in 10s while a reconcile waited for a node; want 3", beats)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

func TestNodeMemory(t *testing.T) {
	for _, tc := range []struct {
		host, reserved uint64
		overcommit     float64
		want           uint64
	}{
		{24 << 30, 0, 0, 22 << 30},     // defaults: 2 GiB reserve, no overcommit
		{5 << 30, 1 << 30, 2, 8 << 30}, // a lab VM: one 4 GiB node fits, two do not
		{1 << 30, 2 << 30, 1, 0},       // less than the reserve
		{10 << 30, 2 << 30, 1.5, 12 << 30},
	} {
		a, err := New(Config{Hostname: "hv", ControlPlane: &fakeControlPlane{}, Hypervisor: &fakeHypervisor{}, Nodes: &fakeNodes{},
			ReservedMemory: tc.reserved, MemoryOvercommit: tc.overcommit})
		if err != nil {
			t.Fatal(err)
		}
		a.host.MemoryBytes = tc.host
		if got := a.nodeMemory(); got != tc.want {
			t.Errorf("host %d GiB, reserve %d GiB, x%.1f: %d MiB for nodes, want %d MiB", tc.host>>30, tc.reserved>>30, tc.overcommit, got>>20, tc.want>>20)
		}
	}
	if _, err := New(Config{Hostname: "hv", ControlPlane: &fakeControlPlane{}, Hypervisor: &fakeHypervisor{}, Nodes: &fakeNodes{}, MemoryOvercommit: 8}); err == nil {
		t.Error("overcommit 8 accepted")
	}
}
