package agent

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/cluster/agent/node"
	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/fsm"
)

// fakeAPI is a hand-written APIClient: a fixed desired state, recorded
// calls.
type fakeAPI struct {
	mu         sync.Mutex
	desired    api.DesiredState
	registered []api.RegisterRequest
	beats      int
	forgotten  bool // the next heartbeat answers 404
	reports    []string
}

func (f *fakeAPI) RegisterHypervisor(_ context.Context, r api.RegisterRequest) (fsm.Hypervisor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.registered = append(f.registered, r)
	f.forgotten = false
	return fsm.Hypervisor{}, nil
}

func (f *fakeAPI) Heartbeat(context.Context, fsm.HVUsage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.forgotten {
		return &client.Error{Status: 404, Msg: "not registered"}
	}
	f.beats++
	return nil
}

func (f *fakeAPI) Desired(context.Context, string) (api.DesiredState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.desired, nil
}

func (f *fakeAPI) ReportNode(_ context.Context, name, state, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, name+"="+state+" "+reason)
	if name == "gone" {
		return &client.Error{Status: 404, Msg: "not found"}
	}
	return nil
}

var testTLS = &fsm.NodeTLS{CACert: "CA", Cert: "CERT", Key: "KEY"}

func TestToDesired(t *testing.T) {
	subnets := map[string]netip.Prefix{"acme": netip.MustParsePrefix("10.200.3.0/24")}
	tests := []struct {
		name    string
		node    fsm.Node
		wantErr string
		wantNet string
		wantGW  string
	}{
		{"from the subnet", fsm.Node{Name: "n1", Tenant: "acme", Address: "10.200.3.10/24", Gateway: "10.200.3.1", TLS: testTLS}, "", "10.200.3.1/24", "10.200.3.1"},
		{"subnet length wins", fsm.Node{Name: "n1", Tenant: "acme", Address: "10.200.3.10/32", TLS: testTLS}, "", "10.200.3.1/24", "10.200.3.1"},
		{"no subnet record", fsm.Node{Name: "n1", Tenant: "solo", Address: "10.9.0.10/16", TLS: testTLS}, "", "10.9.0.1/16", "10.9.0.1"},
		{"bad address", fsm.Node{Name: "n1", Tenant: "acme", Address: "nope", TLS: testTLS}, `address "nope"`, "", ""},
		{"no key", fsm.Node{Name: "n1", Tenant: "acme", Address: "10.200.3.10/24", TLS: &fsm.NodeTLS{CACert: "CA", Cert: "C"}}, "no complete TLS material", "", ""},
		{"bad name", fsm.Node{Name: "N_1", Tenant: "acme", Address: "10.200.3.10/24", TLS: testTLS}, "DNS label", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := toDesired(tt.node, subnets)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Network.Gateway.String() != tt.wantNet || d.Spec.Gateway.String() != tt.wantGW || d.Spec.Bridge != node.BridgeName(tt.node.Tenant) {
				t.Errorf("network %v gateway %v bridge %s", d.Network.Gateway, d.Spec.Gateway, d.Spec.Bridge)
			}
			if d.Spec.MemoryBytes != node.DefaultMemoryBytes || string(d.TLS.Key) != "KEY" {
				t.Errorf("spec %+v tls %+v: want defaults and the record's TLS", d.Spec, d.TLS)
			}
		})
	}
}

func TestAPIControlPlaneReconcile(t *testing.T) {
	ctx := context.Background()
	fa := &fakeAPI{desired: api.DesiredState{
		Nodes: []fsm.Node{
			{Name: "n1", Tenant: "acme", Address: "10.200.3.10/24", TLS: testTLS},
			{Name: "bad", Tenant: "acme", Address: "10.200.3.11/24"},
			{Name: "old", Tenant: "acme", Address: "10.200.3.12/24", TLS: testTLS, Desired: fsm.NodeDesiredDeleted, State: fsm.NodeRunning},
			{Name: "gone", Tenant: "acme", Address: "10.200.3.13/24", TLS: testTLS, Desired: fsm.NodeDesiredDeleted},
			{Name: "done", Tenant: "acme", Address: "10.200.3.14/24", TLS: testTLS, Desired: fsm.NodeDesiredDeleted, State: fsm.NodeDeleted},
		},
		Subnets: []fsm.Subnet{{Tenant: "acme", Hypervisor: "hv-1", Prefix: "10.200.3.0/24"}},
		Routes:  []api.Route{{Tenant: "acme", Prefix: "10.200.4.0/24", Via: "192.0.2.4", Hypervisor: "hv-2"}, {Tenant: "acme", Prefix: "junk", Via: "x"}},
	}}
	cp := &APIControlPlane{Client: fa, Address: "192.0.2.1"}
	hv, nodes := newFakeHypervisor(), newFakeNodes()
	nodes.dirs["old"] = true // "old" runs here; "gone" never did
	hv.doms["old"] = "running"
	a, err := New(Config{Hostname: "hv-1", ControlPlane: cp, Hypervisor: hv, Nodes: nodes, HostMemory: hv.memory})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"bad=failed the node record has no complete TLS material (ca_cert, cert, key) for its dockerd",
		"n1=creating ", "n1=running ", "old=deleted ", "gone=deleted ",
	}
	if diff := cmp.Diff(want, fa.reports); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
	wantRoutes := []node.Route{{Tenant: "acme", Prefix: netip.MustParsePrefix("10.200.4.0/24"), Via: netip.MustParseAddr("192.0.2.4")}}
	if diff := cmp.Diff(wantRoutes, nodes.routes, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if len(fa.registered) != 1 || fa.registered[0].Address != "192.0.2.1" || fa.registered[0].CPUs != 2 {
		t.Errorf("registered %+v", fa.registered)
	}

	t.Run("heartbeat after the record was deleted registers again", func(t *testing.T) {
		fa.forgotten = true
		if err := cp.Heartbeat(ctx, Usage{Nodes: 1}); err != nil {
			t.Fatal(err)
		}
		if len(fa.registered) != 2 || fa.beats != 1 {
			t.Errorf("registered %d times, %d beats; want 2 and 1", len(fa.registered), fa.beats)
		}
	})
}

func TestSourceAddress(t *testing.T) {
	for _, s := range []string{"127.0.0.1:8443", "https://127.0.0.1:8443", "https://127.0.0.1:8443/"} {
		if got, err := SourceAddress(s); err != nil || got != "127.0.0.1" {
			t.Errorf("SourceAddress(%q) = %q, %v; want 127.0.0.1", s, got, err)
		}
	}
}
