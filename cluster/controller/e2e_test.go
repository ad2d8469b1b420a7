package controller

import (
	"context"
	"crypto/tls"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/controller/credentials"
	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
	"github.com/vela-appliance/vela/cluster/swarm/swarmtest"
)

// serveAPI puts the real API of the plane's member on loopback over TLS and
// returns an admin client.
func serveAPI(t *testing.T, p *plane) (*client.Client, []byte) {
	t.Helper()
	ca, err := pki.GenerateCA("test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := pki.Pool(ca.CertPEM)
	keyPEM, csr, _ := pki.NewKeyAndCSR("m1")
	certPEM, err := ca.SignCSR(csr, "m1", pki.RoleMember, []net.IP{net.IPv4(127, 0, 0, 1)}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := tls.X509KeyPair(certPEM, keyPEM)
	srv, err := api.New(api.Config{Raft: p.store, FSM: p.fsm, CA: ca, Pool: pool, ForwardTLS: pki.ClientTLS(pool, &cert)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.TLS = pki.APIServerTLS(pool, cert)
	hs.StartTLS()
	t.Cleanup(hs.Close)
	token, id, hash := pki.NewToken(pki.PrefixAPI)
	p.mustApply(fsm.TypeAPITokenUpsert, fsm.Upsert[fsm.APIToken]{Object: fsm.APIToken{ID: id, Name: "root", Hash: hash, Scope: fsm.ScopeAdmin}})
	c, err := client.New(client.Config{Server: hs.Listener.Addr().String(), Token: token, CAPEM: ca.CertPEM, Retry: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, ca.CertPEM
}

// waitActive polls the API until the cluster is active at generation gen.
func waitActive(t *testing.T, c *client.Client, tenant, name string, gen uint64, d time.Duration) fsm.Cluster {
	t.Helper()
	var cl fsm.Cluster
	var err error
	waitFor(t, d, "cluster "+name+" active", func() bool {
		cl, err = c.GetCluster(context.Background(), tenant, name)
		if err == nil && cl.State == fsm.ClusterError && cl.Observed >= gen && !strings.HasPrefix(cl.Reason, "retrying") {
			t.Fatalf("cluster %s: error: %s (next: %s)", name, cl.Reason, cl.NextStep)
		}
		return err == nil && cl.State == fsm.ClusterActive && cl.Observed >= gen
	})
	return cl
}

// docker runs the docker CLI with the credentials in dir against host.
func docker(t *testing.T, dir, host string, args ...string) string {
	t.Helper()
	out, err := dockerTry(dir, host, args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func dockerTry(dir, host string, args ...string) (string, error) {
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=tcp://"+net.JoinHostPort(host, credentials.DockerPort), "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH="+dir, "DOCKER_CONFIG="+dir)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestTenantFlowThroughAPI is the tenant's path end to end: an admin
// creates a tenant and its token; the tenant creates a 3-node cluster
// through the API, fetches credentials (key made here, CSR signed by the
// API), and the plain docker CLI sees an active Swarm with 3 managers over
// TLS; data in a volume survives a rebuild; rm removes everything.
func TestTenantFlowThroughAPI(t *testing.T) {
	needSwarm(t)
	if _, err := exec.LookPath("docker"); err != nil {
		needOrSkip(t, "the docker CLI")
	}
	p := newPlane(t, "10.248.0.0/16")
	admin, caPEM := serveAPI(t, p)
	startAgent(t, p, hypervisor("hv-1", 8), hypervisor("hv-2", 8), hypervisor("hv-3", 8))
	defer p.start()() // stop the controller before the nodes and bridges go
	ctx := context.Background()

	if _, err := admin.PutTenant(ctx, "acme", fsm.Quota{}); err != nil {
		t.Fatal(err)
	}
	tok, err := admin.CreateToken(ctx, api.APITokenRequest{Name: "ci", Scope: fsm.ScopeTenant, Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	tc, err := client.New(client.Config{Server: strings.TrimPrefix(adminBase(admin), "https://"), Token: tok.Token, CAPEM: caPEM})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()

	start := time.Now()
	cl, err := tc.CreateCluster(ctx, "acme", "web", 3, false)
	if err != nil {
		t.Fatal(err)
	}
	cl = waitActive(t, tc, "acme", "web", cl.Generation, 120*time.Second)
	t.Logf("create --nodes 3 -> active in %s (%s)", time.Since(start).Round(time.Millisecond), cl.HealthDetail)

	dir := t.TempDir()
	keyPEM, csr, _ := pki.NewKeyAndCSR("acme/web")
	cr, err := tc.SignCredentials(ctx, "acme", "web", csr)
	if err != nil {
		t.Fatal(err)
	}
	b := credentials.Bundle{Cluster: cr.Cluster, Host: cr.Host, CACert: []byte(cr.CACert), Cert: []byte(cr.Cert), Key: keyPEM}
	for name, data := range b.Files(dir) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got := docker(t, dir, cr.Host, "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.Managers}} {{.Swarm.Nodes}}"); got != "active 3 3" {
		t.Fatalf("docker info through the bundle: %q, want \"active 3 3\"", got)
	}

	// A volume on the first manager keeps its data through a rebuild.
	importBusybox(t, dir, cr.Host)
	docker(t, dir, cr.Host, "volume", "create", "data")
	docker(t, dir, cr.Host, "run", "--rm", "-v", "data:/d", "vela-test/busybox", "sh", "-c", "echo kept > /d/f")
	cl, err = tc.RebuildCluster(ctx, "acme", "web")
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	cl = waitActive(t, tc, "acme", "web", cl.Generation, 120*time.Second)
	t.Logf("rebuild -> active in %s (%s)", time.Since(start).Round(time.Millisecond), cl.HealthDetail)
	if cl.Rebuilt != cl.Rebuild {
		t.Fatalf("rebuild %d not carried out (rebuilt %d)", cl.Rebuild, cl.Rebuilt)
	}
	if got := docker(t, dir, cr.Host, "run", "--rm", "-v", "data:/d", "vela-test/busybox", "cat", "/d/f"); got != "kept" {
		t.Fatalf("volume after rebuild: %q", got)
	}
	waitFor(t, 60*time.Second, "3 managers after the rebuild", func() bool {
		return docker(t, dir, cr.Host, "info", "--format", "{{.Swarm.Managers}} {{.Swarm.Nodes}}") == "3 3"
	})

	if _, err := tc.DeleteCluster(ctx, "acme", "web"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "cluster to go", func() bool {
		_, err := tc.GetCluster(ctx, "acme", "web")
		return client.StatusOf(err) == 404
	})
}

func adminBase(c *client.Client) string { return c.BaseURL() }

// importBusybox makes a one-binary image on the node at host (no registry
// is reachable from the test host).
func importBusybox(t *testing.T, dir, host string) {
	t.Helper()
	docker(t, dir, host, "import", swarmtest.BusyboxTarball(t), swarmtest.BusyboxImage)
}

func needOrSkip(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI needs %s (make deps installs it)", what)
	}
	t.Skipf("needs %s", what)
}
