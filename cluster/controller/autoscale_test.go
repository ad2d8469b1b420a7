package controller

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/controller/credentials"
	"github.com/vela-appliance/vela/cluster/fsm"
)

// TestAutoscaleGrowsNeverShrinks: a 1-node autoscaled cluster; a service
// reserving 3.5 GiB (87% of the node's 4 GiB) makes the controller add a
// node, which joins the Swarm as a worker, and records an event with the
// figures; a second such service wants a third node the quota (2) refuses:
// one event says so, however many evaluations see it; removing the services
// does not remove the node.
func TestAutoscaleGrowsNeverShrinks(t *testing.T) {
	needSwarm(t)
	p := newPlane(t, "10.245.0.0/16")
	p.ctl.cfg.AutoscaleInterval = time.Second
	p.ctl.log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	p.mustApply(fsm.TypeTenantUpsert, fsm.Upsert[fsm.Tenant]{Object: fsm.Tenant{Name: "acme", Quota: fsm.Quota{MaxClusters: 3, MaxNodesPerCluster: 2}}})
	startAgent(t, p, hypervisor("hv-1", 8), hypervisor("hv-2", 8))
	defer p.start()() // stop the controller before the nodes and bridges go
	caCert, caKey, err := credentials.NewCA("acme/web", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p.mustApply(fsm.TypeClusterUpsert, fsm.Upsert[fsm.Cluster]{Object: fsm.Cluster{Tenant: "acme", Name: "web", Nodes: 1, State: fsm.ClusterNew, Generation: 1,
		CACert: string(caCert), CAKey: string(caKey), Autoscale: &fsm.AutoscalePolicy{Enabled: true, Threshold: 0.8, CooldownSeconds: 1}}})
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
	const grew = "memory 85% of 4 GiB reserved >= 80%: adding 1 node"
	if c.Nodes != 2 || c.Autoscale.LastDecision != grew {
		t.Fatalf("nodes %d, decision %q", c.Nodes, c.Autoscale.LastDecision)
	}
	// The new node is a Swarm worker, Ready.
	if got := docker(t, dir, host, "node", "ls", "--format", "{{.Status}} {{.ManagerStatus}}"); !sameLines(got, "Ready Leader", "Ready") {
		t.Fatalf("swarm nodes:\n%s", got)
	}
	if n := nodesOf(p, "acme", "web"); len(n) != 2 || n[1].Role != "worker" {
		t.Fatalf("nodes: %+v", n)
	}
	if got := autoscaleEvents(p, "acme/web"); len(got) != 1 || got[0] != grew {
		t.Fatalf("autoscale events: %q", got)
	}

	// Wanted, refused by the quota: recorded once, shown in the reason.
	docker(t, dir, host, "service", "create", "--detach", "--name", "hog2", "--reserve-memory", "3500m", "--no-resolve-image", "--endpoint-mode", "dnsrr", "vela-test/busybox", "sleep", "3600")
	const blocked = "memory 85% of 8 GiB reserved >= 80%: would add 1 node, but the cluster has 2 of its maximum 2 nodes; raise the tenant's quota or --max"
	waitFor(t, 30*time.Second, "the blocked verdict", func() bool { return len(autoscaleEvents(p, "acme/web")) == 2 })
	after := time.Now().Add(3 * time.Second) // three more evaluations see the same verdict
	for time.Now().Before(after) {
		<-time.After(100 * time.Millisecond) // watching for events that must not come
	}
	if got := autoscaleEvents(p, "acme/web"); len(got) != 2 || got[1] != blocked {
		t.Fatalf("autoscale events: %q", got)
	}
	if c, _ := p.cluster("acme/web"); c.Reason != "autoscale: "+blocked || c.Nodes != 2 {
		t.Fatalf("reason %q, nodes %d", c.Reason, c.Nodes)
	}

	// Never down: the reservations go, the node stays.
	docker(t, dir, host, "service", "rm", "hog", "hog2")
	waitFor(t, 10*time.Second, "the verdict cleared", func() bool {
		c, _ := p.cluster("acme/web")
		return c.Reason == "" && c.Autoscale.LastNote == ""
	})
	c, _ = p.cluster("acme/web")
	gen := c.Generation
	deadline := time.Now().Add(3 * time.Second) // three evaluations
	for time.Now().Before(deadline) {
		if c, _ := p.cluster("acme/web"); c.Nodes != 2 || c.Generation != gen || c.State != fsm.ClusterActive || c.Reason != "" {
			t.Fatalf("after the services went: nodes %d generation %d (was %d), %s %s", c.Nodes, c.Generation, gen, c.State, c.Reason)
		}
		<-time.After(100 * time.Millisecond) // watching for a change that must not come
	}
	if got := autoscaleEvents(p, "acme/web"); len(got) != 2 {
		t.Fatalf("autoscale events after the services went: %q", got)
	}
}

// autoscaleEvents returns the messages of the cluster's autoscale events.
func autoscaleEvents(p *plane, key string) []string {
	var out []string
	p.fsm.View(func(s *fsm.State) {
		for _, e := range s.ClusterEvents(key, 0, 0) {
			if e.Action == fsm.ActionAutoscale {
				out = append(out, e.Message)
			}
		}
	})
	return out
}

// sameLines tells whether got holds exactly the lines want, in any order.
func sameLines(got string, want ...string) bool {
	lines := strings.Split(got, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	slices.Sort(lines)
	slices.Sort(want)
	return slices.Equal(lines, want)
}

// TestAutoscaleRoom: the autoscaler asks the scheduler how many more nodes
// fit, with the figures for the event when not all do.
func TestAutoscaleRoom(t *testing.T) {
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	hv := func(name string, gib int64) fsm.Hypervisor {
		h := hypervisor(name, gib)
		h.State, h.LastSeen = fsm.HypervisorReady, now
		return h
	}
	placed := map[string]fsm.Node{"acme-web-1": {Name: "acme-web-1", Tenant: "acme", Cluster: "web", Hypervisor: "hv-1", MemoryBytes: 4 << 30, VCPUs: 2, DiskBytes: 20e9}}
	c := &Controller{cfg: Config{HeartbeatInterval: 5 * time.Second}}
	cl := fsm.Cluster{Tenant: "acme", Name: "web"}
	for _, tt := range []struct {
		name       string
		hvs        []fsm.Hypervisor
		n, want    int
		wantDetail string
	}{
		{"room for all", []fsm.Hypervisor{hv("hv-1", 16)}, 3, 3, ""},
		{"room for some", []fsm.Hypervisor{hv("hv-1", 9), hv("hv-2", 4)}, 3, 2, ""},
		{"none", []fsm.Hypervisor{hv("hv-1", 5)}, 1, 0, "largest free: 1.0 GiB, 30 vCPUs on hv-1"},
		{"no hypervisor ready", nil, 1, 0, "no hypervisor is ready"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, detail := c.room(snapshot{nodes: placed, hypervisors: tt.hvs}, cl, tt.n, now)
			if got != tt.want || (tt.wantDetail != "" && detail != tt.wantDetail) {
				t.Errorf("room %d %q, want %d %q", got, detail, tt.want, tt.wantDetail)
			}
		})
	}
}
