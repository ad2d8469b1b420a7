// Command nodes benchmarks Vela nodes on this host against a bare dockerd:
// node create -> dockerd ready over TLS (p50/max over -n nodes), idle memory
// per node (host MemAvailable delta), and how many 4 GiB nodes the agent's
// capacity accounting admits. The reference is a dockerd started directly on
// the host in the same run. Needs root, libvirt (LXC), debootstrap, go.
//
//	go run ./bench/nodes -n 20
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/vela-appliance/vela/cluster/agent"
	"github.com/vela-appliance/vela/cluster/agent/hypervisor"
	"github.com/vela-appliance/vela/cluster/agent/hypervisor/hvtest"
	"github.com/vela-appliance/vela/cluster/agent/node"
)

func main() {
	n := flag.Int("n", 20, "nodes to create")
	mem := flag.Uint64("node-memory-mib", 1024, "memory limit of the timed nodes (20 x 4 GiB do not fit a 24 GiB host)")
	flag.Parse()
	if err := run(*n, *mem<<20); err != nil {
		fmt.Fprintln(os.Stderr, "bench/nodes:", err)
		os.Exit(1)
	}
}

type memCP struct{ desired []agent.DesiredNode }

func (c *memCP) Register(context.Context, agent.Registration) error { return nil }
func (c *memCP) Heartbeat(context.Context, agent.Usage) error       { return nil }
func (c *memCP) DesiredNodes(context.Context, string) ([]agent.DesiredNode, error) {
	return c.desired, nil
}
func (c *memCP) ReportNode(_ context.Context, _ string, s agent.NodeStatus) error {
	states[s.Name] = s
	return nil
}

var states = map[string]agent.NodeStatus{}

func run(n int, nodeMem uint64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	work, err := os.MkdirTemp("", "vela-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := os.Chmod(work, 0o711); err != nil {
		return err
	}
	image, err := hvtest.BuildNodeImage(func(f string, a ...any) { fmt.Printf(f+"\n", a...) })
	if err != nil {
		return err
	}
	vela := filepath.Join(work, "vela")
	if out, err := exec.Command("go", "build", "-o", vela, "github.com/vela-appliance/vela/cmd/vela").CombinedOutput(); err != nil {
		return fmt.Errorf("build vela: %v %s", err, out)
	}

	// Reference: a dockerd straight on the host.
	var refReady []time.Duration
	var refRSS uint64
	for i := 0; i < 3; i++ {
		d, rss, err := hostDockerd(ctx, filepath.Join(work, fmt.Sprintf("ref%d", i)))
		if err != nil {
			return fmt.Errorf("reference dockerd: %w", err)
		}
		refReady = append(refReady, d)
		refRSS = rss
	}

	lv, err := hvtest.StartDaemon(ctx, filepath.Join(work, "lv"))
	if err != nil {
		return err
	}
	defer lv.Stop()
	mgr, err := node.New(node.Config{StateDir: filepath.Join(work, "nodes"), Image: image, AuthzBinary: vela, Logger: log})
	if err != nil {
		return err
	}
	hv := hypervisor.New(hypervisor.Config{Socket: lv.Socket, Logger: log})
	defer hv.Close()
	ca, err := newCA()
	if err != nil {
		return err
	}
	client, err := ca.client()
	if err != nil {
		return err
	}
	cp := &memCP{}
	ag, err := agent.New(agent.Config{Hostname: "bench", ControlPlane: cp, Hypervisor: hv, Nodes: mgr, Logger: log})
	if err != nil {
		return err
	}
	if err := ag.Register(ctx); err != nil {
		return err
	}
	gw := netip.MustParsePrefix("10.232.0.1/24")
	tnet := node.TenantNet{Tenant: "bench", Gateway: gw}
	defer func() {
		cp.desired = nil
		_ = ag.Reconcile(context.Background())
		_ = node.RemoveNetwork(context.Background(), tnet)
	}()
	mk := func(i int, mem uint64) (agent.DesiredNode, error) {
		addr := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 232, 0, byte(10 + i)}), 24)
		t, err := ca.server(addr.Addr())
		if err != nil {
			return agent.DesiredNode{}, err
		}
		return agent.DesiredNode{Spec: node.Spec{Name: fmt.Sprintf("bench-%02d", i), Tenant: "bench",
			Address: addr, Gateway: gw.Addr(), MemoryBytes: mem}, Network: tnet, TLS: t}, nil
	}
	// The shifted image is made once per image; do not count it.
	if _, err := node.New(node.Config{StateDir: filepath.Join(work, "warm"), Image: image, AuthzBinary: vela}); err != nil {
		return err
	}
	memBefore := memAvailable()
	var ready []time.Duration
	for i := 0; i < n; i++ {
		d, err := mk(i, nodeMem)
		if err != nil {
			return err
		}
		cp.desired = append(cp.desired, d)
		t0 := time.Now()
		if err := ag.Reconcile(ctx); err != nil {
			return err
		}
		if err := waitPing(ctx, client, d.Spec.Address.Addr()); err != nil {
			return fmt.Errorf("%s: %w", d.Spec.Name, err)
		}
		ready = append(ready, time.Since(t0))
	}
	settle(ctx, 5*time.Second)
	memAfter := memAvailable()
	hostDelta := float64(int64(memBefore)-int64(memAfter)) / float64(n) / (1 << 20)
	var anon uint64
	for _, d := range cp.desired {
		a, err := nodeAnon(d.Spec.Name)
		if err != nil {
			return err
		}
		anon += a
	}
	perNode := float64(anon) / float64(n) / (1 << 20)

	// Capacity: replace the nodes with 4 GiB ones until the agent refuses.
	cp.desired = nil
	if err := ag.Reconcile(ctx); err != nil {
		return err
	}
	for i := 0; i < 12; i++ {
		d, err := mk(i, node.DefaultMemoryBytes)
		if err != nil {
			return err
		}
		cp.desired = append(cp.desired, d)
	}
	_ = ag.Reconcile(ctx)
	admitted, refusedMsg := 0, ""
	for _, d := range cp.desired {
		switch s := states[d.Spec.Name]; s.State {
		case agent.Running:
			admitted++
		case agent.Failed:
			if refusedMsg == "" {
				refusedMsg = s.Reason
			}
		}
	}

	p50, max := pct(ready, 50), pct(ready, 100)
	r50, rmax := pct(refReady, 50), pct(refReady, 100)
	fmt.Printf("\nbench/nodes on %s (%d CPUs, %.1f GiB), %d nodes of %d MiB, same run\n",
		hostname(), numCPU(), float64(memTotal())/(1<<30), n, nodeMem>>20)
	fmt.Printf("%-40s %14s %26s %8s\n", "metric", "vela node", "reference: host dockerd", "ratio")
	fmt.Printf("%-40s %14s %26s %8.2f\n", "create -> dockerd ready, p50", ms(p50), ms(r50), float64(p50)/float64(r50))
	fmt.Printf("%-40s %14s %26s %8.2f\n", "create -> dockerd ready, max", ms(max), ms(rmax), float64(max)/float64(rmax))
	fmt.Printf("%-40s %14s %26s %8.2f\n", "create -> dockerd ready, p90", ms(pct(ready, 90)), ms(pct(refReady, 90)), float64(pct(ready, 90))/float64(pct(refReady, 90)))
	fmt.Printf("%-40s %10.1f MiB %22.1f MiB %8.2f\n", "idle anonymous memory per node", perNode, float64(refRSS)/(1<<20), perNode/(float64(refRSS)/(1<<20)))
	fmt.Printf("%-40s %10.1f MiB %26s\n", "host MemAvailable drop per node (noisy)", hostDelta, "-")
	fmt.Printf("%-40s %14d %26s\n", "4 GiB nodes admitted by capacity", admitted, "-")
	fmt.Printf("targets: ready < 3 s per node, idle < 60 MiB per node\nfirst refusal: %s\n", refusedMsg)
	return nil
}

// hostDockerd starts the node image's dockerd on the host (no TLS, private
// dirs, no networking changes) and returns its time to answer /_ping and
// the RSS of dockerd and containerd once idle.
func hostDockerd(ctx context.Context, dir string) (time.Duration, uint64, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, 0, err
	}
	sock := filepath.Join(dir, "d.sock")
	t0 := time.Now()
	cmd := exec.Command("dockerd", "--data-root", filepath.Join(dir, "data"), "--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "pid"), "-H", "unix://"+sock, "--bridge", "none", "--iptables=false",
		"--ip-masq=false", "--containerd-namespace", "velabench", "--containerd-plugins-namespace", "velabenchp")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (netConn, error) {
		return dialUnix(ctx, sock)
	}}, Timeout: time.Second}
	for {
		resp, err := c.Get("http://docker/_ping")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Since(t0) > 30*time.Second || ctx.Err() != nil {
			return 0, 0, fmt.Errorf("host dockerd not ready in 30s: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	d := time.Since(t0)
	settle(ctx, 2*time.Second)
	return d, treeRSS(cmd.Process.Pid), nil
}

func waitPing(ctx context.Context, c *http.Client, ip netip.Addr) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := c.Get(fmt.Sprintf("https://%s:%d/_ping", ip, node.DockerPort))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("dockerd not ready over TLS in 60s: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

// settle lets a freshly started system go idle before memory is measured.
func settle(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s) - 1) * p / 100
	return s[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

func meminfo(key string) uint64 {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(b), "\n") {
		var kib uint64
		if _, err := fmt.Sscanf(l, key+": %d kB", &kib); err == nil {
			return kib << 10
		}
	}
	return 0
}

func memAvailable() uint64 { return meminfo("MemAvailable") }
func memTotal() uint64     { return meminfo("MemTotal") }

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

func hostname() string { h, _ := os.Hostname(); return h }

// nodeAnon is a node's anonymous memory: its cgroup's (v1 total_rss + total_shmem,
// v2 anon + shmem) plus its libvirt_lxc controller's RssAnon.
func nodeAnon(name string) (uint64, error) {
	pid := node.InitPID(name)
	if pid == 0 {
		return 0, fmt.Errorf("node %s: no init", name)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return 0, err
	}
	var statPath string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) == 3 && f[1] == "memory" {
			statPath = filepath.Join("/sys/fs/cgroup/memory", f[2], "memory.stat")
		} else if len(f) == 3 && f[1] == "" && statPath == "" {
			if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
				statPath = filepath.Join("/sys/fs/cgroup", f[2], "memory.stat")
			}
		}
	}
	st, err := os.ReadFile(statPath)
	if err != nil {
		return 0, err
	}
	var total uint64
	for _, l := range strings.Split(string(st), "\n") {
		var k string
		var v uint64
		if _, err := fmt.Sscanf(l, "%s %d", &k, &v); err != nil {
			continue
		}
		switch k {
		case "total_rss", "total_shmem", "anon", "shmem":
			total += v
		}
	}
	ppid := parent(pid)
	return total + statusKiB(ppid, "RssAnon") + statusKiB(ppid, "RssShmem"), nil
}

func parent(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	var state string
	var ppid int
	fmt.Sscanf(s[i+2:], "%s %d", &state, &ppid)
	return ppid
}

func statusKiB(pid int, key string) uint64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		var kib uint64
		if _, err := fmt.Sscanf(l, key+": %d kB", &kib); err == nil {
			return kib << 10
		}
	}
	return 0
}

// treeRSS sums the anonymous memory (RssAnon + RssShmem) of pid and its descendants.
func treeRSS(pid int) uint64 {
	var total uint64
	kids := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var p int
		if _, err := fmt.Sscanf(e.Name(), "%d", &p); err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		var state string
		var ppid int
		fmt.Sscanf(s[i+2:], "%s %d", &state, &ppid)
		kids[ppid] = append(kids[ppid], p)
	}
	var walk func(int)
	walk = func(p int) {
		total += statusKiB(p, "RssAnon") + statusKiB(p, "RssShmem")
		for _, k := range kids[p] {
			walk(k)
		}
	}
	walk(pid)
	return total
}
