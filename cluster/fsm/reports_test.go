package fsm

import (
	"errors"
	"testing"
	"time"
)

func TestHypervisorReports(t *testing.T) {
	f := New(Config{})
	at := func(d time.Duration) Meta { return Meta{Actor: "agent:hv-1", Time: t0.Add(d)} }
	steps := []struct {
		name      string
		typ       Type
		body      any
		wantErr   error
		wantState string
		wantSeen  time.Duration
		wantUsage int
	}{
		{"heartbeat before register", TypeHypervisorReport, HypervisorReport{at(0), HVHeartbeat, Hypervisor{Name: "hv-1"}}, ErrNotFound, "", 0, 0},
		{"register", TypeHypervisorReport, HypervisorReport{at(1), HVRegister, Hypervisor{Name: "hv-1", CPUs: 8, State: "bogus"}}, nil, HypervisorReady, 1, 0},
		{"heartbeat", TypeHypervisorReport, HypervisorReport{at(2), HVHeartbeat, Hypervisor{Name: "hv-1", CPUs: 99, Usage: HVUsage{Nodes: 2}}}, nil, HypervisorReady, 2, 2},
		{"drain", TypeHypervisorReport, HypervisorReport{at(3), HVDrain, Hypervisor{Name: "hv-1"}}, nil, HypervisorDraining, 2, 2},
		{"heartbeat keeps drain", TypeHypervisorReport, HypervisorReport{at(4), HVHeartbeat, Hypervisor{Name: "hv-1", Usage: HVUsage{Nodes: 3}}}, nil, HypervisorDraining, 4, 3},
		{"re-register keeps drain and usage", TypeHypervisorReport, HypervisorReport{at(5), HVRegister, Hypervisor{Name: "hv-1", CPUs: 8}}, nil, HypervisorDraining, 5, 3},
		{"undrain", TypeHypervisorReport, HypervisorReport{at(6), HVUndrain, Hypervisor{Name: "hv-1"}}, nil, HypervisorReady, 5, 3},
		{"unknown op", TypeHypervisorReport, HypervisorReport{at(7), "explode", Hypervisor{Name: "hv-1"}}, ErrConflict, HypervisorReady, 5, 3},
	}
	for i, s := range steps {
		r := f.ApplyEntry(uint64(i+1), enc(t, s.typ, s.body))
		if !errors.Is(r.Err, s.wantErr) {
			t.Fatalf("%s: err %v, want %v", s.name, r.Err, s.wantErr)
		}
		var h Hypervisor
		f.View(func(st *State) { h = st.Hypervisors["hv-1"] })
		if s.wantState == "" {
			continue
		}
		if h.State != s.wantState || !h.LastSeen.Equal(t0.Add(s.wantSeen)) || h.Usage.Nodes != s.wantUsage || h.CPUs != 8 {
			t.Errorf("%s: got state %q seen %v usage %d cpus %d; want %q %v %d 8", s.name, h.State, h.LastSeen.Sub(t0), h.Usage.Nodes, h.CPUs, s.wantState, s.wantSeen, s.wantUsage)
		}
	}
	var events int
	f.View(func(st *State) { events = len(st.Events) })
	if events != 4 { // register, drain, register, undrain: no heartbeats
		t.Errorf("%d events, want 4 (heartbeats record none)", events)
	}
	h := Hypervisor{LastSeen: t0}
	if h.Unreachable(t0.Add(30*time.Second), 10*time.Second) || !h.Unreachable(t0.Add(31*time.Second), 10*time.Second) {
		t.Error("Unreachable: want false at 3 intervals, true after")
	}
}

func TestNodeStatus(t *testing.T) {
	f := New(Config{})
	applyAll(t, f, population(t)) // node web-1 on hv-1
	tests := []struct {
		name    string
		body    SetNodeStatus
		wantErr error
	}{
		{"own node", SetNodeStatus{meta(), "web-1", "hv-1", NodeRunning, ""}, nil},
		{"another hypervisor's node", SetNodeStatus{meta(), "web-1", "hv-2", NodeFailed, "x"}, ErrConflict},
		{"unknown node", SetNodeStatus{meta(), "ghost", "hv-1", NodeRunning, ""}, ErrNotFound},
	}
	for i, tt := range tests {
		r := f.ApplyEntry(uint64(100+i), enc(t, TypeNodeStatus, tt.body))
		if !errors.Is(r.Err, tt.wantErr) {
			t.Errorf("%s: err %v, want %v", tt.name, r.Err, tt.wantErr)
		}
	}
	var n Node
	f.View(func(st *State) { n = st.Nodes["web-1"] })
	if n.State != NodeRunning || n.Tenant != "acme" || n.Hypervisor != "hv-1" {
		t.Errorf("node after reports: %+v; want state running and desired fields kept", n)
	}
}
