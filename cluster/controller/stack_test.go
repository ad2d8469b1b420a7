package controller

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/controller/credentials"
	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
)

const stackFile = `version: "3.8"
services:
  backend:
    image: vela-test/busybox
    command: ["httpd", "-f", "-p", "8080", "-h", "/data"]
    networks: [backend]
    volumes: ["data:/data"]
    deploy:
      endpoint_mode: dnsrr
      placement: {constraints: ["node.labels.side == a"]}
  frontend:
    image: vela-test/busybox
    command: ["sh", "-c", "while true; do wget -q -O- http://backend:8080/index.html || echo unreachable; sleep 1; done"]
    networks: [frontend, backend]
    deploy:
      endpoint_mode: dnsrr
      placement: {constraints: ["node.labels.side == b"]}
networks:
  frontend: {driver: overlay}
  backend: {driver: overlay}
volumes:
  data: {}
`

// TestStackDeployOverlay deploys a compose file with a frontend and a
// backend overlay network and a named volume through the credentials
// bundle, the two services forced onto different nodes: the frontend
// reaches the backend across nodes (dnsrr: this kernel has no IPVS).
func TestStackDeployOverlay(t *testing.T) {
	needSwarm(t)
	p := newPlane(t, "10.246.0.0/16")
	admin, _ := serveAPI(t, p)
	startAgent(t, p, hypervisor("hv-1", 8), hypervisor("hv-2", 8))
	defer p.start()() // stop the controller before the nodes and bridges go
	ctx := context.Background()
	if _, err := admin.PutTenant(ctx, "acme", fsm.Quota{}); err != nil {
		t.Fatal(err)
	}
	cl, err := admin.CreateCluster(ctx, "acme", "web", 2, false)
	if err != nil {
		t.Fatal(err)
	}
	waitActive(t, admin, "acme", "web", cl.Generation, 120*time.Second)
	dir, host := bundle(t, admin, "acme", "web")

	nodes, err := admin.ClusterNodes(ctx, "acme", "web")
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		ip, _, _ := net.ParseCIDR(n.Address)
		importBusybox(t, dir, ip.String())
		// The nodes share the test host's hostname: tell them apart by label.
		id := docker(t, dir, ip.String(), "info", "--format", "{{.Swarm.NodeID}}")
		docker(t, dir, host, "node", "update", "--label-add", "side="+string(rune('a'+i)), id)
	}
	// Something for the backend to serve, in its named volume.
	stack := filepath.Join(dir, "stack.yaml")
	if err := os.WriteFile(stack, []byte(stackFile), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	docker(t, dir, host, "stack", "deploy", "--resolve-image", "never", "-c", stack, "app")
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range []string{"app_backend", "app_frontend"} {
				out, _ := dockerTry(dir, host, "service", "ps", "--no-trunc", s)
				t.Logf("%s:\n%s", s, out)
			}
		}
	})
	aIP, _, _ := net.ParseCIDR(nodes[0].Address)
	waitFor(t, 60*time.Second, "backend task running", func() bool {
		return strings.Contains(docker(t, dir, aIP.String(), "ps", "--format", "{{.Names}}"), "app_backend")
	})
	ctr := docker(t, dir, aIP.String(), "ps", "-q", "--filter", "name=app_backend")
	docker(t, dir, aIP.String(), "exec", ctr, "sh", "-c", "echo hello-from-backend > /data/index.html")
	t.Logf("stack deployed, backend running after %s", time.Since(start).Round(time.Millisecond))
	waitFor(t, 90*time.Second, "frontend to reach the backend over the overlay", func() bool {
		return strings.Contains(docker(t, dir, host, "service", "logs", "--raw", "app_frontend"), "hello-from-backend")
	})
	t.Logf("frontend reached the backend after %s", time.Since(start).Round(time.Millisecond))
	// The backend is not on the frontend network: it cannot even resolve it.
	if out := docker(t, dir, aIP.String(), "exec", ctr, "sh", "-c", "wget -q -O- http://frontend:80/ 2>&1 || echo blocked"); !strings.Contains(out, "blocked") {
		t.Errorf("the backend reached the frontend: %s", out)
	}
}

// bundle fetches credentials the way `vela credentials` does and returns
// the directory and DOCKER_HOST's IP.
func bundle(t *testing.T, c *client.Client, tenant, name string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	keyPEM, csr, _ := pki.NewKeyAndCSR(tenant + "/" + name)
	cr, err := c.SignCredentials(context.Background(), tenant, name, csr)
	if err != nil {
		t.Fatal(err)
	}
	b := credentials.Bundle{Cluster: cr.Cluster, Host: cr.Host, CACert: []byte(cr.CACert), Cert: []byte(cr.Cert), Key: keyPEM}
	for f, data := range b.Files(dir) {
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, cr.Host
}

var _ = api.Credentials{}
