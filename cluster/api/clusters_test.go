package api

import (
	"archive/zip"
	"bytes"
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
)

func tenantToken(t *testing.T, tc *testCluster, tenant string) string {
	t.Helper()
	tc.apply(t, fsm.TypeTenantUpsert, fsm.Upsert[fsm.Tenant]{Object: fsm.Tenant{Name: tenant, Quota: fsm.Quota{MaxClusters: 2, MaxNodesPerCluster: 5}}})
	tok, id, hash := pki.NewToken(pki.PrefixAPI)
	tc.apply(t, fsm.TypeAPITokenUpsert, fsm.Upsert[fsm.APIToken]{Object: fsm.APIToken{ID: id, Name: "ci", Hash: hash, Scope: fsm.ScopeTenant, Tenant: tenant}})
	return tok
}

func TestClusterAuthzAndLifecycle(t *testing.T) {
	tc := newCluster(t, 1, nil)
	m := tc.members[0]
	a, b := tenantToken(t, tc, "acme"), tenantToken(t, tc, "beta")
	base := "/v1/tenants/acme/clusters/web"

	r := tc.call(t, m, "PUT", base, a, []byte(`{"nodes":3}`), nil)
	var c fsm.Cluster
	if err := json.Unmarshal(r.body, &c); r.code != 200 || err != nil {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	if c.CAKey != "" || !strings.Contains(c.CACert, "CERTIFICATE") || c.State != fsm.ClusterNew || c.Generation != 1 {
		t.Fatalf("created cluster: state %q gen %d key %t", c.State, c.Generation, c.CAKey != "")
	}
	// Three nodes as the controller and agents would leave them.
	for i, name := range []string{"acme-web-1", "acme-web-2", "acme-web-3"} {
		tc.apply(t, fsm.TypeNodeUpsert, fsm.Upsert[fsm.Node]{Object: fsm.Node{Name: name, Tenant: "acme", Cluster: "web", Hypervisor: "hv-1",
			Address: "10.200.0." + string(rune('0'+i+1)) + "0/24", Role: "manager", State: fsm.NodeRunning, TLS: &fsm.NodeTLS{Key: "SECRET"}}})
	}

	tests := []struct {
		name, method, path, token, body string
		code                            int
		want                            string // in the body
	}{
		{"same create is idempotent", "PUT", base, a, `{"nodes":3}`, 200, `"generation": 1`},
		{"create with other size", "PUT", base, a, `{"nodes":4}`, 409, "vela cluster grow"},
		{"other tenant cannot read", "GET", base, b, "", 403, `may not access clusters of tenant \"acme\"`},
		{"other tenant cannot list", "GET", "/v1/tenants/acme/clusters", b, "", 403, "may not access"},
		{"other tenant cannot grow", "POST", base + "/grow", b, `{"nodes":1}`, 403, "may not access"},
		{"other tenant cannot get credentials", "POST", base + "/credentials", b, `{"csr":"x"}`, 403, "may not access"},
		{"other tenant cannot get the zip", "GET", base + "/credentials", b, "", 403, "may not access"},
		{"other tenant cannot delete", "DELETE", base, b, "", 403, "may not access"},
		{"own path, no such cluster", "GET", "/v1/tenants/beta/clusters/web", b, "", 404, "vela cluster ls"},
		{"global list hides others", "GET", "/v1/clusters", b, "", 200, "[]"},
		{"node keys never listed", "GET", base + "/nodes", a, "", 200, `"acme-web-3"`},
		{"grow past quota", "POST", base + "/grow", a, `{"nodes":3}`, 409, "max_nodes_per_cluster"},
		{"shrink needs remove", "POST", base + "/resize", a, `{"nodes":2}`, 409, "needs --remove naming 1 more"},
		{"remove unknown node", "POST", base + "/resize", a, `{"nodes":2,"remove":["x"]}`, 400, "not a node of cluster"},
		{"grow", "POST", base + "/grow", a, `{"nodes":1}`, 200, `"state": "growing"`},
		{"resize with remove", "POST", base + "/resize", a, `{"nodes":3,"remove":["acme-web-3"]}`, 200, `"state": "resizing"`},
		{"rebuild", "POST", base + "/rebuild", a, "", 200, `"rebuild": 4`},
		{"second cluster", "PUT", "/v1/tenants/acme/clusters/db", a, `{"nodes":1}`, 200, `"db"`},
		{"cluster quota", "PUT", "/v1/tenants/acme/clusters/third", a, `{"nodes":1}`, 409, "has 2 of 2 clusters (db, web)"},
		{"tenant reads own quota", "GET", "/v1/tenants/acme/quota", a, "", 200, `"clusters": 2`},
		{"tenant cannot set quota", "PUT", "/v1/tenants/acme/quota", a, `{"max_clusters":9}`, 403, ""},
		{"admin sets quota", "PUT", "/v1/tenants/acme/quota", tc.admin, `{"max_clusters":9}`, 200, `"max_clusters": 9`},
		{"autoscale bad threshold", "POST", base + "/autoscale", a, `{"enabled":true,"threshold":150}`, 400, "percentage"},
		{"autoscale bad cooldown", "POST", base + "/autoscale", a, `{"enabled":true,"cooldown":"soon"}`, 400, "cooldown"},
		{"autoscale on", "POST", base + "/autoscale", a, `{"enabled":true,"threshold":70,"max":4,"cooldown":"30s"}`, 200, `"cooldown_seconds": 30`},
		{"tenant with clusters cannot go", "DELETE", "/v1/tenants/acme", tc.admin, "", 409, "still owns 2 cluster(s): db, web"},
		{"whoami", "GET", "/v1/whoami", a, "", 200, `"tenant": "acme"`},
		{"delete", "DELETE", base, a, "", 202, `"state": "deleting"`},
		{"no change while deleting", "POST", base + "/grow", a, `{"nodes":1}`, 409, "being deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.method != "GET" && tt.method != "DELETE" {
				body = []byte(tt.body)
			}
			r := tc.call(t, m, tt.method, tt.path, tt.token, body, nil)
			if r.code != tt.code || !strings.Contains(string(r.body), tt.want) {
				t.Fatalf("HTTP %d, want %d with %q: %s", r.code, tt.code, tt.want, r.body)
			}
			if strings.Contains(string(r.body), "SECRET") || strings.Contains(string(r.body), "ca_key") {
				t.Fatalf("a key leaked: %s", r.body)
			}
		})
	}
	t.Run("beta's tokens are revoked with beta", func(t *testing.T) {
		if r := tc.call(t, m, "DELETE", "/v1/tenants/beta", tc.admin, nil, nil); r.code != 204 {
			t.Fatalf("%d %s", r.code, r.body)
		}
		if r := tc.call(t, m, "GET", "/v1/clusters", b, nil, nil); r.code != 401 {
			t.Fatalf("token of a removed tenant: %d %s", r.code, r.body)
		}
	})
}

func TestCredentials(t *testing.T) {
	tc := newCluster(t, 1, nil)
	m := tc.members[0]
	a := tenantToken(t, tc, "acme")
	base := "/v1/tenants/acme/clusters/web"
	if r := tc.call(t, m, "PUT", base, a, []byte(`{"nodes":1}`), nil); r.code != 200 {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	keyPEM, csr, _ := pki.NewKeyAndCSR("me")
	_ = keyPEM
	req := mustJSON(t, CredentialsRequest{CSR: string(csr)})
	if r := tc.call(t, m, "POST", base+"/credentials", a, req, nil); r.code != 409 || !strings.Contains(r.err().Msg, "no running manager yet") {
		t.Fatalf("before a manager runs: %d %s", r.code, r.body)
	}
	tc.apply(t, fsm.TypeNodeUpsert, fsm.Upsert[fsm.Node]{Object: fsm.Node{Name: "acme-web-1", Tenant: "acme", Cluster: "web", Hypervisor: "hv-1",
		Address: "10.200.0.10/24", Role: "manager", State: fsm.NodeRunning}})

	r := tc.call(t, m, "POST", base+"/credentials", a, req, nil)
	var cr Credentials
	if err := json.Unmarshal(r.body, &cr); r.code != 200 || err != nil {
		t.Fatalf("credentials: %d %s", r.code, r.body)
	}
	if cr.DockerHost != "tcp://10.200.0.10:2376" {
		t.Errorf("docker host %q", cr.DockerHost)
	}
	pool, _ := pki.Pool([]byte(cr.CACert))
	cert, err := pki.ParseCert([]byte(cr.Cert))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate does not verify against the cluster CA: %v", err)
	}
	if bad := tc.call(t, m, "POST", base+"/credentials", a, []byte(`{"csr":"nope"}`), nil); bad.code != 400 || bad.err().Field != "csr" {
		t.Errorf("bad csr: %d %s", bad.code, bad.body)
	}

	r = tc.call(t, m, "GET", base+"/credentials", a, nil, nil)
	if r.code != 200 || r.header.Get("Content-Type") != "application/zip" {
		t.Fatalf("zip: %d %s", r.code, r.body)
	}
	zr, err := zip.NewReader(bytes.NewReader(r.body), int64(len(r.body)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	for _, f := range zr.File {
		files[f.Name] = true
		if f.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", f.Name, f.Mode())
		}
		if f.Name == "docker.env" {
			rc, _ := f.Open()
			var buf bytes.Buffer
			buf.ReadFrom(rc)
			if !strings.Contains(buf.String(), `DOCKER_HOST="tcp://10.200.0.10:2376"`) || !strings.Contains(buf.String(), "DOCKER_TLS_VERIFY") {
				t.Errorf("docker.env:\n%s", buf.String())
			}
		}
		if strings.Contains(f.Name, "ca-key") {
			t.Errorf("the CA key is in the bundle")
		}
	}
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem", "docker.env", "docker.fish", "docker.ps1", "docker.cmd", "README.md"} {
		if !files[f] {
			t.Errorf("bundle lacks %s (has %v)", f, files)
		}
	}
}
