package api

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
)

func TestBodiesAndAuth(t *testing.T) {
	tc := newCluster(t, 1, nil)
	m := tc.members[0]
	tc.apply(t, fsm.TypeTenantUpsert, fsm.Upsert[fsm.Tenant]{Object: fsm.Tenant{Name: "acme"}})
	tenantTok, id, hash := pki.NewToken(pki.PrefixAPI)
	tc.apply(t, fsm.TypeAPITokenUpsert, fsm.Upsert[fsm.APIToken]{Object: fsm.APIToken{ID: id, Name: "ci", Hash: hash, Scope: fsm.ScopeTenant, Tenant: "acme"}})
	big := `{"labels":{"k":"` + strings.Repeat("x", MaxBody) + `"}}`
	tests := []struct {
		name      string
		method    string
		path      string
		token     string
		body      string
		wantCode  int
		wantField string
	}{
		{"no token", "GET", "/v1/machines", "", "", 401, ""},
		{"unknown token", "GET", "/v1/machines", "vapi.nope.nope", "", 401, ""},
		{"tenant on admin route", "GET", "/v1/machines", tenantTok, "", 403, ""},
		{"put machine", "PUT", "/v1/machines/node-a", tc.admin, `{"mac":"52:54:00:00:00:01","labels":{"rack":"r1"}}`, 200, ""},
		{"unknown field", "PUT", "/v1/machines/node-a", tc.admin, `{"mac":"x","colour":"red"}`, 400, "colour"},
		{"wrong type", "PUT", "/v1/machines/node-a", tc.admin, `{"labels":["a"]}`, 400, "labels"},
		{"nested wrong type", "PUT", "/v1/tenants/acme", tc.admin, `{"quota":{"max_clusters":"3"}}`, 400, "quota.max_clusters"},
		{"bad quota", "PUT", "/v1/tenants/acme", tc.admin, `{"quota":{"max_clusters":-1}}`, 400, "quota.max_clusters"},
		{"malformed", "PUT", "/v1/machines/node-a", tc.admin, `{"mac":`, 400, ""},
		{"empty", "PUT", "/v1/machines/node-a", tc.admin, ``, 400, ""},
		{"two values", "PUT", "/v1/machines/node-a", tc.admin, `{} {}`, 400, ""},
		{"oversized", "PUT", "/v1/machines/node-a", tc.admin, big, 413, ""},
		{"bad name", "PUT", "/v1/machines/Node_A", tc.admin, `{}`, 400, "name"},
		{"long label", "PUT", "/v1/machines/node-a", tc.admin, `{"labels":{"k":"` + strings.Repeat("v", 300) + `"}}`, 400, "labels.k"},
		{"negative cpus", "PUT", "/v1/hypervisors/hv-1", tc.admin, `{"cpus":-1}`, 400, "cpus"},
		{"missing machine", "GET", "/v1/machines/ghost", tc.admin, "", 404, ""},
		{"tenant cluster", "PUT", "/v1/tenants/acme/clusters/web", tenantTok, `{"nodes":3}`, 200, ""},
		{"tenant other tenant", "PUT", "/v1/tenants/other/clusters/web", tenantTok, `{"nodes":3}`, 403, "tenant"},
		{"over node quota", "PUT", "/v1/tenants/acme/clusters/big", tenantTok, `{"nodes":11}`, 409, "nodes"},
		{"zero nodes", "PUT", "/v1/tenants/acme/clusters/web", tenantTok, `{"nodes":0}`, 400, "nodes"},
		{"join token bad ttl", "POST", "/v1/members/tokens", tc.admin, `{"ttl":"48h"}`, 400, "ttl"},
		{"join token bad role", "POST", "/v1/members/tokens", tc.admin, `{"role":"king"}`, 400, "role"},
		{"api token bad scope", "POST", "/v1/tokens", tc.admin, `{"name":"x","scope":"god"}`, 400, "scope"},
		{"api token missing tenant", "POST", "/v1/tokens", tc.admin, `{"name":"x","scope":"tenant","tenant":"nobody"}`, 400, "tenant"},
		{"events bad after", "GET", "/v1/events?after=x", tc.admin, "", 400, "after"},
		{"members post needs member cert", "POST", "/v1/members", tc.admin, `{}`, 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" || tt.method != "GET" {
				body = []byte(tt.body)
			}
			r := tc.call(t, m, tt.method, tt.path, tt.token, body, nil)
			if r.code != tt.wantCode {
				t.Fatalf("HTTP %d, want %d: %s", r.code, tt.wantCode, r.body)
			}
			if e := r.err(); r.code >= 400 && (e.Field != tt.wantField || e.Msg == "") {
				t.Fatalf("error body %s: want field %q and a message", r.body, tt.wantField)
			}
		})
	}
	t.Run("read back linearizable and stale", func(t *testing.T) {
		for _, q := range []string{"", "?stale=true"} {
			r := tc.call(t, m, "GET", "/v1/machines/node-a"+q, tc.admin, nil, nil)
			var got fsm.Machine
			_ = json.Unmarshal(r.body, &got)
			want := fsm.Machine{Name: "node-a", MAC: "52:54:00:00:00:01", Labels: map[string]string{"rack": "r1"}, ModifyIndex: got.ModifyIndex}
			if diff := cmp.Diff(want, got); diff != "" || got.ModifyIndex == 0 {
				t.Errorf("GET%s (-want +got):\n%s", q, diff)
			}
		}
	})
	t.Run("events record who", func(t *testing.T) {
		r := tc.call(t, m, "GET", "/v1/events?limit=1000", tc.admin, nil, nil)
		var evs []fsm.Event
		_ = json.Unmarshal(r.body, &evs)
		found := false
		for _, e := range evs {
			found = found || (e.Kind == "cluster" && e.Actor == "tenant:acme/ci" && e.Object == "acme/web" && e.Time.Equal(tc.now))
		}
		if !found {
			t.Errorf("no event for the tenant's cluster in %s", r.body)
		}
	})
}

func TestJoinTokens(t *testing.T) {
	tc := newCluster(t, 1, nil)
	m := tc.members[0]
	newToken := func(ttl string) string {
		r := tc.call(t, m, "POST", "/v1/members/tokens", tc.admin, mustJSON(t, TokenRequest{Role: "agent", TTL: ttl}), nil)
		var tr TokenResponse
		if err := json.Unmarshal(r.body, &tr); err != nil || r.code != 200 {
			t.Fatalf("token: %d %s", r.code, r.body)
		}
		return tr.Token
	}
	_, csr, _ := pki.NewKeyAndCSR("hv-1")
	join := func(tok string) resp {
		return tc.call(t, m, "POST", "/v1/join", "", mustJSON(t, JoinRequest{Token: tok, Name: "hv-1", CSR: string(csr), IPs: []string{"10.0.0.5"}}), nil)
	}
	tok := newToken("1m")
	r := join(tok)
	if r.code != 200 {
		t.Fatalf("join: %d %s", r.code, r.body)
	}
	var jr JoinResponse
	_ = json.Unmarshal(r.body, &jr)
	cert, err := pki.ParseCert([]byte(jr.Cert))
	if err != nil || jr.CAKey != "" || jr.Role != "agent" || cert.Subject.OrganizationalUnit[0] != "agent" {
		t.Fatalf("agent join: %v %+v", err, jr)
	}
	// The same joiner may retry (its first answer may have been lost);
	// anyone else is refused.
	if r := join(tok); r.code != 200 {
		t.Fatalf("retry by the same joiner: %d %s", r.code, r.body)
	}
	_, csr2, _ := pki.NewKeyAndCSR("hv-2")
	other := tc.call(t, m, "POST", "/v1/join", "", mustJSON(t, JoinRequest{Token: tok, Name: "hv-2", CSR: string(csr2)}), nil)
	if other.code != 403 || !strings.Contains(other.err().Msg, "already used") {
		t.Fatalf("reused token by another joiner: %d %s", other.code, other.body)
	}
	if r := join("vjoin.aaaa.bbbb"); r.code != 403 {
		t.Fatalf("wrong token: %d %s", r.code, r.body)
	}
	late := newToken("1s")
	tc.now = tc.now.Add(2 * time.Second) // the leader's clock moves on
	if r := join(late); r.code != 403 || !strings.Contains(r.err().Msg, "expired") {
		t.Fatalf("expired token: %d %s", r.code, r.body)
	}
}

func TestProbesAndOpenAPI(t *testing.T) {
	tc := newCluster(t, 1, nil)
	m := tc.members[0]
	for _, p := range []string{"/healthz", "/readyz"} {
		if r := tc.call(t, m, "GET", p, "", nil, nil); r.code != 200 {
			t.Errorf("%s: %d %s", p, r.code, r.body)
		}
	}
	r := tc.call(t, m, "GET", "/metrics", "", nil, nil)
	for _, name := range []string{"vela_raft_state 2", "vela_raft_applied_index", "vela_raft_commit_seconds", "vela_raft_leader_changes_total"} {
		if !strings.Contains(string(r.body), name) {
			t.Errorf("metrics lack %q", name)
		}
	}
	r = tc.call(t, m, "GET", "/v1/openapi.json", "", nil, nil)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi: %v", err)
	}
	for _, rt := range m.api.routes() {
		if _, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("openapi lacks %s %s", rt.Method, rt.Path)
		}
	}
}

func TestDiskFullRefusesWrites(t *testing.T) {
	tc := newCluster(t, 1, func(c *Config) { c.DataDir = t.TempDir(); c.MinFreeBytes = 1 << 62 })
	m := tc.members[0]
	r := tc.call(t, m, "PUT", "/v1/machines/a", tc.admin, []byte(`{}`), nil)
	if r.code != http.StatusInsufficientStorage || r.header.Get("Retry-After") == "" || !strings.Contains(r.err().Msg, "free space") {
		t.Fatalf("disk full: %d %s", r.code, r.body)
	}
	if r := tc.call(t, m, "GET", "/v1/machines", tc.admin, nil, nil); r.code != 200 {
		t.Fatalf("reads must go on: %d", r.code)
	}
}

func TestForwardingToLeader(t *testing.T) {
	tc := newCluster(t, 3, nil)
	follower := tc.members[1]
	r := tc.call(t, follower, "PUT", "/v1/machines/via-follower", tc.admin, []byte(`{"state":"x"}`), nil)
	if r.code != 200 {
		t.Fatalf("forwarded write: %d %s", r.code, r.body)
	}
	// A linearizable read on another follower sees it at once.
	if r := tc.call(t, tc.members[2], "GET", "/v1/machines/via-follower", tc.admin, nil, nil); r.code != 200 {
		t.Fatalf("linearizable read on a follower: %d %s", r.code, r.body)
	}
	// Join through a follower: the joiner's client certificate must reach
	// the leader with the forwarded request.
	cert := memberCert(t, tc.ca, "d")
	r = tc.call(t, follower, "POST", "/v1/members", "", []byte(`{"raft_addr":"127.0.0.1:1","api_addr":"127.0.0.1:2"}`), &cert)
	if r.code != 200 || !strings.Contains(string(r.body), `"voter"`) {
		t.Fatalf("add member through follower: %d %s", r.code, r.body)
	}
	tc.call(t, follower, "DELETE", "/v1/members/d", tc.admin, nil, nil)
	// Lose the quorum: the follower answers 503 with Retry-After in bounded time.
	for _, m := range tc.members[:1] {
		_ = m.store.Raft().Shutdown().Error()
	}
	_ = tc.members[2].store.Raft().Shutdown().Error()
	start := time.Now()
	r = tc.call(t, follower, "PUT", "/v1/machines/x", tc.admin, []byte(`{}`), nil)
	if r.code != 503 || r.header.Get("Retry-After") == "" {
		t.Fatalf("no quorum: %d %s", r.code, r.body)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("503 took %s", d)
	}
}

func FuzzDecodeMachine(f *testing.F) {
	f.Add([]byte(`{"mac":"52:54:00:00:00:01","labels":{"a":"b"}}`))
	f.Add([]byte(`{"labels":[1]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, _ := http.NewRequest("PUT", "/", strings.NewReader(string(b)))
		var m fsm.Machine
		err := decode(nil, r, &m)
		if err != nil {
			if _, ok := err.(*apiError); !ok {
				t.Fatalf("decode returned %T, want *apiError", err)
			}
			return
		}
		m.Name = "x"
		_ = checkMachine(&m)
	})
}

func TestAgentWritesOwnHypervisor(t *testing.T) {
	tc := newCluster(t, 1, nil)
	m := tc.members[0]
	keyPEM, csr, _ := pki.NewKeyAndCSR("hv-1")
	certPEM, err := tc.ca.SignCSR(csr, "hv-1", pki.RoleAgent, nil, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	agent, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path string
		want               int
	}{
		{"registers itself", "POST", "/v1/hypervisors/register", 200},
		{"no hand-written entry, even its own", "PUT", "/v1/hypervisors/hv-1", 403},
		{"another's entry", "PUT", "/v1/hypervisors/hv-2", 403},
		{"machines are admin only", "PUT", "/v1/machines/hv-1", 403},
		{"no listing", "GET", "/v1/hypervisors", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.method != "GET" {
				body = []byte(`{"cpus":8,"address":"127.0.0.1"}`)
			}
			if r := tc.call(t, m, tt.method, tt.path, "", body, &agent); r.code != tt.want {
				t.Fatalf("HTTP %d, want %d: %s", r.code, tt.want, r.body)
			}
		})
	}
}

func TestJoinsAsVoter(t *testing.T) {
	voters := func(ids ...string) []raft.Server {
		var out []raft.Server
		for _, id := range ids {
			out = append(out, raft.Server{ID: raft.ServerID(id), Suffrage: raft.Voter})
		}
		return out
	}
	tests := []struct {
		name    string
		servers []raft.Server
		id      string
		want    bool
	}{
		{"second", voters("a"), "b", true},
		{"fifth", voters("a", "b", "c", "d"), "e", true},
		{"sixth", voters("a", "b", "c", "d", "e"), "f", false},
		{"fifth re-joining", voters("a", "b", "c", "d", "e"), "e", true},
		{"nonvoters do not count", append(voters("a", "b", "c", "d"), raft.Server{ID: "x", Suffrage: raft.Nonvoter}), "e", true},
	}
	for _, tt := range tests {
		if got := joinsAsVoter(tt.servers, tt.id); got != tt.want {
			t.Errorf("%s: got %v", tt.name, got)
		}
	}
}

func TestClockJumpBack(t *testing.T) {
	tc := newCluster(t, 1, nil)
	m := tc.members[0]
	r := tc.call(t, m, "POST", "/v1/members/tokens", tc.admin, mustJSON(t, TokenRequest{Role: "agent", TTL: "1m"}), nil)
	var tr TokenResponse
	_ = json.Unmarshal(r.body, &tr)
	// The leader's wall clock jumps back an hour: the token is still valid
	// (expiry is compared with the stamped time), and events stay ordered
	// by log index even though their times go backwards.
	tc.now = tc.now.Add(-time.Hour)
	_, csr, _ := pki.NewKeyAndCSR("hv-1")
	if r := tc.call(t, m, "POST", "/v1/join", "", mustJSON(t, JoinRequest{Token: tr.Token, Name: "hv-1", CSR: string(csr)}), nil); r.code != 200 {
		t.Fatalf("join after a clock jump back: %d %s", r.code, r.body)
	}
	r = tc.call(t, m, "GET", "/v1/events?limit=1000", tc.admin, nil, nil)
	var evs []fsm.Event
	_ = json.Unmarshal(r.body, &evs)
	for i := 1; i < len(evs); i++ {
		if evs[i].Index <= evs[i-1].Index {
			t.Fatalf("events out of order: %+v", evs)
		}
	}
	if last := evs[len(evs)-1]; last.Action != "use" || !last.Time.Equal(tc.now) {
		t.Fatalf("last event %+v", last)
	}
}
