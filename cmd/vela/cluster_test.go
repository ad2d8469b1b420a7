package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
	"github.com/vela-appliance/vela/cluster/store"
)

// apiServer runs one member's real API (Raft on disk, in-memory transport)
// on loopback and points the CLI at it through the environment.
func apiServer(t *testing.T) (apply func(fsm.Type, any), adminToken string) {
	t.Helper()
	f := fsm.New(fsm.Config{})
	_, trans := raft.NewInmemTransport("m1")
	st, err := store.Open(store.Config{DataDir: t.TempDir(), ID: "m1", Transport: trans, FSM: f})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Raft().Shutdown().Error() })
	if err := st.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-st.Raft().LeaderCh():
	case <-time.After(10 * time.Second):
		t.Fatal("no leader")
	}
	ca, _ := pki.GenerateCA("test", time.Now())
	pool, _ := pki.Pool(ca.CertPEM)
	keyPEM, csr, _ := pki.NewKeyAndCSR("m1")
	certPEM, _ := ca.SignCSR(csr, "m1", pki.RoleMember, []net.IP{net.IPv4(127, 0, 0, 1)}, nil, time.Now())
	cert, _ := tls.X509KeyPair(certPEM, keyPEM)
	srv, err := api.New(api.Config{Raft: st, FSM: f, CA: ca, Pool: pool, ForwardTLS: pki.ClientTLS(pool, &cert)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.TLS = pki.APIServerTLS(pool, cert)
	hs.StartTLS()
	t.Cleanup(hs.Close)
	apply = func(typ fsm.Type, body any) {
		b, _ := fsm.Encode(typ, body)
		r, err := st.Apply(context.Background(), b)
		if err != nil || r.Err != nil {
			t.Fatalf("apply: %v %v", err, r.Err)
		}
	}
	token, id, hash := pki.NewToken(pki.PrefixAPI)
	apply(fsm.TypeAPITokenUpsert, fsm.Upsert[fsm.APIToken]{Object: fsm.APIToken{ID: id, Name: "root", Hash: hash, Scope: fsm.ScopeAdmin}})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, ca.CertPEM, 0o644)
	t.Setenv("VELA_SERVER", hs.Listener.Addr().String())
	t.Setenv("VELA_CA", caFile)
	t.Setenv("VELA_TOKEN", token)
	t.Setenv("HOME", t.TempDir())
	return apply, token
}

func TestTenantAndClusterCommands(t *testing.T) {
	apply, _ := apiServer(t)
	run := func(want int, args ...string) string { t.Helper(); return velaExit(t, want, args...) }
	run(0, "tenants", "create", "acme", "--max-clusters", "2")
	if out := run(0, "tenants", "ls"); !strings.Contains(out, "acme") || !strings.Contains(out, "2") {
		t.Errorf("tenants ls:\n%s", out)
	}
	out, _, code := vela(t, "", "tokens", "create", "--tenant", "acme")
	if code != 0 || !strings.HasPrefix(out, "vapi.") {
		t.Fatalf("tokens create: %d %q", code, out)
	}
	if out := run(1, "cluster", "create", "web"); !strings.Contains(out, "pass --tenant") {
		t.Errorf("admin without --tenant: %s", out)
	}
	t.Setenv("VELA_TOKEN", strings.TrimSpace(out)) // from here on, the tenant
	if out := run(0, "cluster", "create", "web", "--nodes", "3"); !strings.Contains(out, "cluster web created: new, 3 node(s)") {
		t.Errorf("create: %s", out)
	}
	var cs []fsm.Cluster
	if err := json.Unmarshal([]byte(run(0, "cluster", "ls", "-o", "json")), &cs); err != nil || len(cs) != 1 || cs[0].Name != "web" || cs[0].CAKey != "" {
		t.Fatalf("cluster ls -o json: %v %+v", err, cs)
	}
	if out := run(0, "cluster", "ls", "-o", "yaml"); !strings.Contains(out, "name: web") {
		t.Errorf("cluster ls -o yaml:\n%s", out)
	}
	if out := run(1, "cluster", "grow", "web", "--nodes", "8"); !strings.Contains(out, "max_nodes_per_cluster") {
		t.Errorf("grow past the quota: %s", out)
	}
	if out := run(1, "cluster", "resize", "web"); !strings.Contains(out, "pass --nodes N") {
		t.Errorf("resize without --nodes: %s", out)
	}
	if out := run(1, "credentials", "web"); !strings.Contains(out, "no running manager yet") {
		t.Errorf("credentials before a manager runs: %s", out)
	}
	if out := run(0, "quotas", "get", "acme"); !strings.Contains(out, "acme") {
		t.Errorf("quotas get: %s", out)
	}
	if out := run(1, "quotas", "set", "acme", "--max-clusters", "9"); !strings.Contains(out, "403") {
		t.Errorf("a tenant setting its quota: %s", out)
	}

	// A running manager: credentials and env work.
	for i, name := range []string{"acme-web-1", "acme-web-2"} {
		apply(fsm.TypeNodeUpsert, fsm.Upsert[fsm.Node]{Object: fsm.Node{Name: name, Tenant: "acme", Cluster: "web", Hypervisor: "hv-1",
			Address: []string{"10.200.0.10/24", "10.200.0.11/24"}[i], Role: "manager", State: fsm.NodeRunning}})
	}
	dir := filepath.Join(t.TempDir(), "creds")
	run(0, "credentials", "web", "--dir", dir)
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem", "docker.env", "docker.fish", "docker.ps1", "docker.cmd", "README.md"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, err, fi)
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v", fi.Mode())
	}
	env := run(0, "env", "web", "--dir", dir)
	for _, want := range []string{`export DOCKER_HOST="tcp://10.200.0.10:2376"`, `export DOCKER_TLS_VERIFY="1"`, `export DOCKER_CERT_PATH="` + dir + `"`, `eval "$(vela env web)"`} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %s:\n%s", want, env)
		}
	}
	// Without a directory, env fetches into ~/.vela/clusters/NAME first.
	env = run(0, "env", "web", "--shell", "fish")
	home, _ := os.UserHomeDir()
	if !strings.Contains(env, "set -gx DOCKER_CERT_PATH \""+filepath.Join(home, ".vela", "clusters", "web")+"\"") {
		t.Errorf("env --shell fish:\n%s", env)
	}
	if out := run(1, "env", "web", "--shell", "tcsh", "--dir", dir); !strings.Contains(out, "want one of") {
		t.Errorf("unknown shell: %s", out)
	}
	if out := run(0, "cluster", "rm", "web"); !strings.Contains(out, "deleting") {
		t.Errorf("rm: %s", out)
	}
}

// velaExit runs the CLI, wants exit code want, and returns stdout+stderr.
func velaExit(t *testing.T, want int, args ...string) string {
	t.Helper()
	out, errs, code := vela(t, "", args...)
	if code != want {
		t.Fatalf("vela %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errs)
	}
	return out + errs
}
