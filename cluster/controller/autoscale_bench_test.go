package controller

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/autoscale"
	"github.com/vela-appliance/vela/cluster/controller/credentials"
	"github.com/vela-appliance/vela/cluster/fsm"
)

var (
	autoscaleRuns     = flag.Int("autoscale.runs", 10, "BenchmarkAutoscale: runs")
	autoscaleInterval = flag.Duration("autoscale.interval", autoscale.DefaultInterval, "BenchmarkAutoscale: the autoscaler's evaluation interval")
)

// BenchmarkAutoscale times, over -autoscale.runs runs on one hypervisor
// (the test agent: one real dockerd per node in a network namespace, no
// LXC), a fresh 1-node autoscaled cluster from a service reserving 3.5 GiB
// (85% of the node's 4 GiB) to the second node Ready in the Swarm, and,
// as the reference from the same run and harness, an explicit grow by one
// node to that node Ready. The controller runs with the product's settings
// (a pass every 2 s or on each commit; autoscale evaluation every 10 s).
// bench/autoscale runs it and prints the table:
//
//	go test -run '^$' -bench '^BenchmarkAutoscale$' -benchtime 1x ./cluster/controller
func BenchmarkAutoscale(b *testing.B) {
	needSwarm(b)
	for _, tool := range []string{"docker", "busybox"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				b.Fatalf("%s is missing (make deps)", tool)
			}
			b.Skipf("needs %s (make deps)", tool)
		}
	}
	p := newPlane(b, "10.246.0.0/16")
	p.ctl.cfg.Interval = 2 * time.Second // the product's default, not the harness's 300 ms
	p.ctl.cfg.AutoscaleInterval = *autoscaleInterval
	p.mustApply(fsm.TypeTenantUpsert, fsm.Upsert[fsm.Tenant]{Object: fsm.Tenant{Name: "acme"}})
	startAgent(b, p, hypervisor("hv-1", 64))
	defer p.start()()
	var auto, detect, grow []time.Duration
	for b.Loop() {
		for i := range *autoscaleRuns {
			// The threshold is crossed at phase i/runs of the evaluation
			// interval: a tenant's deploy does not wait for the autoscaler's clock.
			phase := *autoscaleInterval * time.Duration(i) / time.Duration(*autoscaleRuns)
			a, d, g := autoscaleRun(b, p, fmt.Sprintf("a%d", i), phase)
			auto, detect, grow = append(auto, a), append(detect, d), append(grow, g)
			b.Logf("run %d (phase %.1fs): autoscale %.2fs (decided after %.2fs), explicit grow %.2fs", i+1, phase.Seconds(), a.Seconds(), d.Seconds(), g.Seconds())
		}
	}
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"autoscale", auto}, {"detect", detect}, {"grow", grow}} {
		slices.Sort(m.d)
		b.ReportMetric(m.d[len(m.d)/2].Seconds(), m.name+"-p50-s")
		b.ReportMetric(m.d[len(m.d)-1].Seconds(), m.name+"-max-s")
	}
}

// autoscaleRun creates cluster name with 1 node, crosses the threshold
// phase after the cluster's first evaluation (when it became active), times
// the autoscaled node to Ready (and the decision), then an explicit grow to
// Ready; it deletes the cluster.
func autoscaleRun(b *testing.B, p *plane, name string, phase time.Duration) (auto, decided, grow time.Duration) {
	key := "acme/" + name
	caCert, caKey, err := credentials.NewCA(key, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	p.mustApply(fsm.TypeClusterUpsert, fsm.Upsert[fsm.Cluster]{Object: fsm.Cluster{Tenant: "acme", Name: name, Nodes: 1, State: fsm.ClusterNew, Generation: 1,
		CACert: string(caCert), CAKey: string(caKey), Autoscale: &fsm.AutoscalePolicy{Enabled: true, Threshold: autoscale.DefaultThreshold}}})
	p.waitState(key, fsm.ClusterActive, 1, 2*time.Minute)
	active := time.Now()
	ca, _ := credentials.ParseCA(string(caCert), string(caKey))
	cert, ckey, _ := ca.Client("tenant", time.Now())
	dir := b.TempDir()
	for f, data := range map[string][]byte{"ca.pem": caCert, "cert.pem": cert, "key.pem": ckey} {
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	ip, _, err := net.ParseCIDR(nodesOf(p, "acme", name)[0].Address)
	if err != nil {
		b.Fatal(err)
	}
	host := ip.String()
	if out, err := importBusyboxTB(b, dir, host); err != nil {
		b.Fatalf("import busybox: %v %s", err, out)
	}

	<-time.After(time.Until(active.Add(phase))) // a chosen offset, not a wait for readiness
	start := time.Now()
	if out, err := dockerTry(dir, host, "service", "create", "--detach", "--name", "hog", "--reserve-memory", "3500m", "--no-resolve-image",
		"--endpoint-mode", "dnsrr", "vela-test/busybox", "sleep", "3600"); err != nil {
		b.Fatalf("service create: %v %s", err, out)
	}
	waitReady(b, p, key, 2)
	auto = time.Since(start)
	c, _ := p.cluster(key)
	decided = c.Autoscale.LastScaleUp.Sub(start)

	start = time.Now()
	p.change(key, func(c *fsm.Cluster) { c.Nodes, c.State = 3, fsm.ClusterGrowing })
	waitReady(b, p, key, 3)
	grow = time.Since(start)

	p.change(key, func(c *fsm.Cluster) { c.Deleting, c.State = true, fsm.ClusterDeleting })
	waitFor(b, 2*time.Minute, key+" gone", func() bool { _, ok := p.cluster(key); return !ok })
	return auto, decided, grow
}

// waitReady polls the Swarm (through the first node's engine, as the
// controller reaches it) until it has n nodes Ready.
func waitReady(b *testing.B, p *plane, key string, n int) {
	b.Helper()
	c, _ := p.cluster(key)
	e, err := p.ctl.cfg.Engines(c, nodesOf(p, c.Tenant, c.Name)[0])
	if err != nil {
		b.Fatal(err)
	}
	waitFor(b, 2*time.Minute, fmt.Sprintf("%s: %d nodes ready in the swarm", key, n), func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		list, err := e.Nodes(ctx)
		ready := 0
		for _, nd := range list {
			if nd.Status.State == "ready" {
				ready++
			}
		}
		return err == nil && ready >= n
	})
}

// importBusyboxTB is importBusybox for benchmarks: a one-binary image from
// busybox-static (no registry is reachable).
func importBusyboxTB(b *testing.B, dir, host string) (string, error) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return "", err
	}
	root := b.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		return "", err
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755); err != nil {
		return "", err
	}
	for _, l := range []string{"sh", "sleep"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", l)); err != nil {
			return "", err
		}
	}
	tarball := filepath.Join(b.TempDir(), "bb.tar")
	if out, err := exec.Command("tar", "-C", root, "-cf", tarball, ".").CombinedOutput(); err != nil {
		return string(out), err
	}
	return dockerTry(dir, host, "import", tarball, "vela-test/busybox")
}
