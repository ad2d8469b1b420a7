package api

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
)

func agentCert(t *testing.T, ca *pki.CA, name string) *tls.Certificate {
	t.Helper()
	keyPEM, csr, _ := pki.NewKeyAndCSR(name)
	certPEM, err := ca.SignCSR(csr, name, pki.RoleAgent, []net.IP{net.IPv4(127, 0, 0, 1)}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

// nodeTLS is PEM material good enough for a node record.
func nodeTLS(t *testing.T, ca *pki.CA) *fsm.NodeTLS {
	keyPEM, csr, _ := pki.NewKeyAndCSR("node")
	certPEM, err := ca.SignCSR(csr, "node", pki.RoleAgent, nil, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &fsm.NodeTLS{CACert: string(ca.CertPEM), Cert: string(certPEM), Key: string(keyPEM)}
}

// agentCluster is a one-member cluster whose clock the test moves, with
// agents hv-1 and hv-2 registered, tenant acme with cluster web.
func agentCluster(t *testing.T) (*testCluster, *atomic.Int64, *tls.Certificate, *tls.Certificate) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC).UnixNano())
	tc := newCluster(t, 1, func(c *Config) {
		c.Now = func() time.Time { return time.Unix(0, clock.Load()).UTC() }
		c.HeartbeatInterval = 10 * time.Second
	})
	tc.apply(t, fsm.TypeTenantUpsert, fsm.Upsert[fsm.Tenant]{Object: fsm.Tenant{Name: "acme"}})
	tc.apply(t, fsm.TypeClusterUpsert, fsm.Upsert[fsm.Cluster]{Object: fsm.Cluster{Tenant: "acme", Name: "web", Nodes: 1}})
	hv1, hv2 := agentCert(t, tc.ca, "hv-1"), agentCert(t, tc.ca, "hv-2")
	m := tc.members[0]
	for i, c := range []*tls.Certificate{hv1, hv2} {
		body := mustJSON(t, RegisterRequest{Address: "192.0.2." + string(rune('1'+i)), CPUs: 8, MemoryBytes: 32 << 30, DiskBytes: 500 << 30, LibvirtVersion: "9.0.0"})
		if r := tc.call(t, m, "POST", "/v1/hypervisors/register", "", body, c); r.code != 200 {
			t.Fatalf("register: HTTP %d %s", r.code, r.body)
		}
	}
	return tc, &clock, hv1, hv2
}

func TestHypervisorLifecycle(t *testing.T) {
	tc, clock, hv1, _ := agentCluster(t)
	m := tc.members[0]
	get := func(t *testing.T) HypervisorStatus {
		t.Helper()
		r := tc.call(t, m, "GET", "/v1/hypervisors/hv-1", tc.admin, nil, nil)
		var h HypervisorStatus
		if r.code != 200 || json.Unmarshal(r.body, &h) != nil {
			t.Fatalf("get hv-1: HTTP %d %s", r.code, r.body)
		}
		return h
	}
	start := time.Unix(0, clock.Load()).UTC()
	if h := get(t); h.State != fsm.HypervisorReady || !h.LastSeen.Equal(start) || h.Address != "192.0.2.1" || h.CPUs != 8 {
		t.Fatalf("after register: %+v", h)
	}
	steps := []struct {
		name      string
		method    string
		path      string
		token     string
		cert      *tls.Certificate
		body      string
		advance   time.Duration
		wantCode  int
		wantState string
	}{
		{"heartbeat", "POST", "/v1/hypervisors/heartbeat", "", hv1, `{"nodes":2,"memory_bytes":8589934592,"vcpus":4,"disk_bytes":1,"libvirt_reachable":true}`, time.Second, 204, "ready"},
		{"drain", "POST", "/v1/hypervisors/hv-1/drain", tc.admin, nil, "", 0, 200, "draining"},
		{"re-register keeps draining", "POST", "/v1/hypervisors/register", "", hv1, `{"address":"192.0.2.1","cpus":8}`, 0, 200, "draining"},
		{"30 s without heartbeat: still reachable", "GET", "/v1/hypervisors/hv-1", tc.admin, nil, "", 30 * time.Second, 200, "draining"},
		{"31 s: unreachable", "GET", "/v1/hypervisors/hv-1", tc.admin, nil, "", time.Second, 200, "unreachable"},
		{"a heartbeat brings it back", "POST", "/v1/hypervisors/heartbeat", "", hv1, `{"nodes":2}`, 0, 204, "draining"},
		{"undrain", "POST", "/v1/hypervisors/hv-1/undrain", tc.admin, nil, "", 0, 200, "ready"},
		{"drain is admin only", "POST", "/v1/hypervisors/hv-1/drain", "", hv1, "", 0, 403, "ready"},
		{"negative usage", "POST", "/v1/hypervisors/heartbeat", "", hv1, `{"nodes":-1}`, 0, 400, "ready"},
		{"drain unknown", "POST", "/v1/hypervisors/ghost/drain", tc.admin, nil, "", 0, 404, "ready"},
		{"register without address", "POST", "/v1/hypervisors/register", "", hv1, `{"cpus":8}`, 0, 400, "ready"},
		{"admins do not register", "POST", "/v1/hypervisors/register", tc.admin, nil, `{"address":"192.0.2.9"}`, 0, 403, "ready"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			clock.Add(int64(s.advance))
			var body []byte
			if s.method != "GET" {
				body = []byte(s.body)
			}
			r := tc.call(t, m, s.method, s.path, s.token, body, s.cert)
			if r.code != s.wantCode {
				t.Fatalf("HTTP %d, want %d: %s", r.code, s.wantCode, r.body)
			}
			if r.code >= 400 && r.err().Msg == "" {
				t.Errorf("error without a message: %s", r.body)
			}
			if h := get(t); h.State != s.wantState {
				t.Errorf("state %q, want %q", h.State, s.wantState)
			}
		})
	}
	t.Run("heartbeat of an unregistered hypervisor", func(t *testing.T) {
		r := tc.call(t, m, "POST", "/v1/hypervisors/heartbeat", "", []byte(`{"nodes":0}`), agentCert(t, tc.ca, "hv-9"))
		if r.code != 404 || !strings.Contains(r.err().Msg, "register first") {
			t.Errorf("HTTP %d %s; want 404 saying to register first", r.code, r.body)
		}
	})
	t.Run("list", func(t *testing.T) {
		r := tc.call(t, m, "GET", "/v1/hypervisors", tc.admin, nil, nil)
		var hs []HypervisorStatus
		_ = json.Unmarshal(r.body, &hs)
		var got []string
		for _, h := range hs {
			got = append(got, h.Name+"="+h.State)
		}
		// hv-2 registered at the start and never heartbeat since: 32 s ago.
		if diff := cmp.Diff([]string{"hv-1=ready", "hv-2=unreachable"}, got); diff != "" {
			t.Errorf("list (-want +got):\n%s", diff)
		}
		if hs[0].Usage.Nodes != 2 {
			t.Errorf("hv-1 usage %+v, want the last heartbeat's", hs[0].Usage)
		}
	})
}

func TestNodesOnHypervisors(t *testing.T) {
	tc, _, hv1, hv2 := agentCluster(t)
	m := tc.members[0]
	tenantTok, id, hash := pki.NewToken(pki.PrefixAPI)
	tc.apply(t, fsm.TypeAPITokenUpsert, fsm.Upsert[fsm.APIToken]{Object: fsm.APIToken{ID: id, Name: "ci", Hash: hash, Scope: fsm.ScopeTenant, Tenant: "acme"}})
	good := fsm.Node{Tenant: "acme", Cluster: "web", Hypervisor: "hv-1", Address: "10.200.1.10/24", TLS: nodeTLS(t, tc.ca)}
	mod := func(f func(n *fsm.Node)) []byte {
		n := good
		tlsCopy := *good.TLS
		n.TLS = &tlsCopy
		f(&n)
		return mustJSON(t, n)
	}
	puts := []struct {
		name      string
		path      string
		token     string
		cert      *tls.Certificate
		body      []byte
		wantCode  int
		wantField string
	}{
		{"place", "/v1/nodes/n1", tc.admin, nil, mod(func(*fsm.Node) {}), 200, ""},
		{"agents may not place", "/v1/nodes/n2", "", hv1, mod(func(*fsm.Node) {}), 403, ""},
		{"tenants may not place", "/v1/nodes/n2", tenantTok, nil, mod(func(*fsm.Node) {}), 403, ""},
		{"bad address", "/v1/nodes/n2", tc.admin, nil, mod(func(n *fsm.Node) { n.Address = "10.200.1.10" }), 400, "address"},
		{"network address", "/v1/nodes/n2", tc.admin, nil, mod(func(n *fsm.Node) { n.Address = "10.200.1.0/24" }), 400, "address"},
		{"gateway outside", "/v1/nodes/n2", tc.admin, nil, mod(func(n *fsm.Node) { n.Address, n.Gateway = "10.200.1.11/24", "10.9.9.1" }), 400, "gateway"},
		{"duplicate address", "/v1/nodes/n2", tc.admin, nil, mod(func(*fsm.Node) {}), 409, "address"},
		{"no tls", "/v1/nodes/n2", tc.admin, nil, mod(func(n *fsm.Node) { n.Address, n.TLS = "10.200.1.11/24", nil }), 400, "tls"},
		{"key of another cert", "/v1/nodes/n2", tc.admin, nil, mod(func(n *fsm.Node) { n.Address, n.TLS.Key = "10.200.1.11/24", nodeTLS(t, tc.ca).Key }), 400, "tls.cert"},
		{"bad role", "/v1/nodes/n2", tc.admin, nil, mod(func(n *fsm.Node) { n.Address, n.Role = "10.200.1.11/24", "king" }), 400, "role"},
		{"unknown hypervisor", "/v1/nodes/n2", tc.admin, nil, mod(func(n *fsm.Node) { n.Address, n.Hypervisor = "10.200.1.11/24", "hv-9" }), 404, "hypervisor"},
		{"unknown cluster", "/v1/nodes/n2", tc.admin, nil, mod(func(n *fsm.Node) { n.Address, n.Cluster = "10.200.1.11/24", "db" }), 404, ""},
		{"outside the tenant's subnet there", "/v1/nodes/n2", tc.admin, nil, mod(func(n *fsm.Node) { n.Address = "10.200.5.10/24" }), 400, "address"},
		{"overlapping another tenant's subnet", "/v1/nodes/n2", tc.admin, nil, mod(func(n *fsm.Node) { n.Address, n.Tenant = "10.200.1.20/24", "other" }), 409, "address"},
		{"second node on hv-2", "/v1/nodes/n2", tc.admin, nil, mod(func(n *fsm.Node) { n.Address, n.Hypervisor = "10.200.2.10/24", "hv-2" }), 200, ""},
	}
	for _, p := range puts {
		t.Run(p.name, func(t *testing.T) {
			r := tc.call(t, m, "PUT", p.path, p.token, p.body, p.cert)
			if r.code != p.wantCode {
				t.Fatalf("HTTP %d, want %d: %s", r.code, p.wantCode, r.body)
			}
			if e := r.err(); r.code >= 400 && (e.Field != p.wantField || e.Msg == "") {
				t.Errorf("error %s: want field %q and a message", r.body, p.wantField)
			}
		})
	}
	// Hand placement recorded acme's subnets on hv-1 and hv-2; another
	// tenant's subnet must not be routed to acme's nodes.
	for _, sn := range []fsm.Subnet{{Tenant: "other", Hypervisor: "hv-2", Prefix: "10.200.3.0/24"}} {
		tc.apply(t, fsm.TypeSubnetUpsert, fsm.Upsert[fsm.Subnet]{Object: sn})
	}

	t.Run("desired", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			token string
			cert  *tls.Certificate
			want  int
		}{{"own", "", hv1, 200}, {"admin", tc.admin, nil, 200}, {"another agent", "", hv2, 403}, {"tenant", tenantTok, nil, 403}} {
			r := tc.call(t, m, "GET", "/v1/hypervisors/hv-1/desired", c.token, nil, c.cert)
			if r.code != c.want {
				t.Fatalf("%s: HTTP %d, want %d: %s", c.name, r.code, c.want, r.body)
			}
			if c.name == "another agent" && !strings.Contains(r.err().Msg, `agent:hv-2 may read only the desired state of its own hypervisor "hv-2", not "hv-1"`) {
				t.Errorf("message %q does not say why", r.err().Msg)
			}
			if r.code != 200 {
				continue
			}
			var d DesiredState
			_ = json.Unmarshal(r.body, &d)
			if len(d.Nodes) != 1 || d.Nodes[0].Name != "n1" || d.Nodes[0].TLS == nil || d.Nodes[0].TLS.Key == "" || d.Nodes[0].Gateway != "10.200.1.1" || d.Nodes[0].MemoryBytes != DefaultNodeMemoryBytes {
				t.Errorf("%s: nodes %+v; want n1 with its key, default gateway and size", c.name, d.Nodes)
			}
			if len(d.Subnets) != 1 || d.Subnets[0].Prefix != "10.200.1.0/24" {
				t.Errorf("%s: subnets %+v; want acme's 10.200.1.0/24 recorded by the placement", c.name, d.Subnets)
			}
			want := []Route{{Tenant: "acme", Prefix: "10.200.2.0/24", Via: "192.0.2.2", Hypervisor: "hv-2"}}
			if diff := cmp.Diff(want, d.Routes); diff != "" {
				t.Errorf("%s: routes (-want +got):\n%s", c.name, diff)
			}
		}
	})

	t.Run("status reports", func(t *testing.T) {
		for _, c := range []struct {
			name string
			node string
			cert *tls.Certificate
			body string
			want int
		}{
			{"own node", "n1", hv1, `{"state":"running"}`, 200},
			{"another hypervisor's node", "n2", hv1, `{"state":"failed","reason":"x"}`, 403},
			{"bad state", "n1", hv1, `{"state":"happy"}`, 400},
			{"unknown node", "ghost", hv1, `{"state":"deleted"}`, 404},
			{"admin may not report", "n1", nil, `{"state":"failed"}`, 403},
		} {
			tok := ""
			if c.cert == nil {
				tok = tc.admin
			}
			r := tc.call(t, m, "PUT", "/v1/nodes/"+c.node+"/status", tok, []byte(c.body), c.cert)
			if r.code != c.want {
				t.Errorf("%s: HTTP %d, want %d: %s", c.name, r.code, c.want, r.body)
			}
			if c.name == "another hypervisor's node" && !strings.Contains(r.err().Msg, `node "n2" is on "hv-2"`) {
				t.Errorf("message %q does not say why", r.err().Msg)
			}
		}
	})

	t.Run("re-placing keeps the report; lists hide keys", func(t *testing.T) {
		if r := tc.call(t, m, "PUT", "/v1/nodes/n1", tc.admin, mod(func(n *fsm.Node) { n.Role = "manager" }), nil); r.code != 200 {
			t.Fatalf("HTTP %d %s", r.code, r.body)
		}
		for _, tok := range []string{tc.admin, tenantTok} {
			r := tc.call(t, m, "GET", "/v1/nodes", tok, nil, nil)
			var ns []fsm.Node
			if err := json.Unmarshal(r.body, &ns); err != nil || len(ns) != 2 {
				t.Fatalf("GET /v1/nodes: %v %s", err, r.body)
			}
			if ns[0].State != fsm.NodeRunning || ns[0].Role != "manager" {
				t.Errorf("n1 = %+v; want running (the agent's report kept) and manager", ns[0])
			}
			for _, n := range ns {
				if n.TLS == nil || n.TLS.Key != "" || n.TLS.Cert == "" {
					t.Errorf("node %s in a list: TLS %+v; want the key cleared, the cert kept", n.Name, n.TLS)
				}
			}
		}
		r := tc.call(t, m, "GET", "/v1/hypervisors/hv-1", tc.admin, nil, nil)
		var h HypervisorStatus
		_ = json.Unmarshal(r.body, &h)
		if h.Allocated != (Allocation{Nodes: 1, MemoryBytes: DefaultNodeMemoryBytes, VCPUs: DefaultNodeVCPUs, DiskBytes: DefaultNodeDiskBytes}) {
			t.Errorf("hv-1 allocated %+v; want one default node", h.Allocated)
		}
	})
}
