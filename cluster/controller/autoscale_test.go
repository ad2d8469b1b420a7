package controller

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/controller/credentials"
	"github.com/vela-appliance/vela/cluster/fsm"
)

// TestAutoscaleGrowsNeverShrinks: a 1-node autoscaled cluster; a service
// reserving 3.5 GiB (87% of the node's 4 GiB) makes the controller add a
// node, which joins the Swarm; removing the service does not remove it.
func TestAutoscaleGrowsNeverShrinks(t *testing.T) {
	needSwarm(t)
	p := newPlane(t, "10.245.0.0/16")
	p.ctl.cfg.AutoscaleInterval = time.Second
	p.ctl.log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	p.mustApply(fsm.TypeTenantUpsert, fsm.Upsert[fsm.Tenant]{Object: fsm.Tenant{Name: "acme"}})
	startAgent(t, p, hypervisor("hv-1", 8), hypervisor("hv-2", 8))
	defer p.start()() // stop the controller before the nodes and bridges go
	caCert, caKey, err := credentials.NewCA("acme/web", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p.mustApply(fsm.TypeClusterUpsert, fsm.Upsert[fsm.Cluster]{Object: fsm.Cluster{Tenant: "acme", Name: "web", Nodes: 1, State: fsm.ClusterNew, Generation: 1,
		CACert: string(caCert), CAKey: string(caKey), Autoscale: &fsm.AutoscalePolicy{Enabled: true, Threshold: 0.8}}})
	p.waitState("acme/web", fsm.ClusterActive, 1, 60*time.Second)

	// The tenant's docker CLI, with a client certificate of the cluster CA.
	ca, _ := credentials.ParseCA(string(caCert), string(caKey))
	cert, key, _ := ca.Client("tenant", time.Now())
	dir := t.TempDir()
	for f, b := range map[string][]byte{"ca.pem": caCert, "cert.pem": cert, "key.pem": key} {
		os.WriteFile(filepath.Join(dir, f), b, 0o600)
	}
	host := ipOf(t, nodesOf(p, "acme", "web")[0].Address)
	importBusybox(t, dir, host)
	start := time.Now()
	docker(t, dir, host, "service", "create", "--detach", "--name", "hog", "--reserve-memory", "3500m", "--no-resolve-image", "--endpoint-mode", "dnsrr", "vela-test/busybox", "sleep", "3600")

	c := p.waitState("acme/web", fsm.ClusterActive, 2, 60*time.Second)
	t.Logf("reservation -> scale-up decided in %s, second node active in the Swarm in %s (%s)", c.Autoscale.LastScaleUp.Sub(start).Round(time.Millisecond), time.Since(start).Round(time.Millisecond), c.Autoscale.LastDecision)
	if c.Nodes != 2 || !strings.Contains(c.Autoscale.LastDecision, "memory 85% of 4 GiB reserved >= 80%: adding 1 node") {
		t.Fatalf("nodes %d, decision %q", c.Nodes, c.Autoscale.LastDecision)
	}
	if got := docker(t, dir, host, "info", "--format", "{{.Swarm.Nodes}}"); got != "2" {
		t.Fatalf("swarm nodes: %s", got)
	}

	// Never down: the reservation goes, the node stays.
	docker(t, dir, host, "service", "rm", "hog")
	gen := c.Generation
	deadline := time.Now().Add(3 * time.Second) // three evaluations
	for time.Now().Before(deadline) {
		if c, _ := p.cluster("acme/web"); c.Nodes != 2 || c.Generation != gen || c.State != fsm.ClusterActive || c.Reason != "" {
			t.Fatalf("after the service went: nodes %d generation %d (was %d), %s %s", c.Nodes, c.Generation, gen, c.State, c.Reason)
		}
		<-time.After(100 * time.Millisecond) // watching for a change that must not come
	}
}
