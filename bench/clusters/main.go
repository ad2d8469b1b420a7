// Command clusters benchmarks a tenant cluster's lifecycle on one
// hypervisor (real member, agent, libvirtd LXC nodes and Swarm; see
// cluster/e2e): create --nodes 3 to active, grow --nodes 1 to active, rm to
// gone, p50/max over -n runs. The reference, measured in the same run on
// the same libvirtd and node image, is the raw cost of the same nodes
// without Vela's control plane: the agent's own steps (prepare, libvirt
// define + start, dockerd listening) called directly, one node after the
// other. The ratio is Vela's overhead (API, Raft, controller, agent
// polling, Swarm formation). Needs root, libvirt (LXC), debootstrap, go.
//
//	go run ./bench/clusters -n 10
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/vela-appliance/vela/cluster/agent/hypervisor"
	"github.com/vela-appliance/vela/cluster/agent/hypervisor/hvtest"
	"github.com/vela-appliance/vela/cluster/agent/node"
	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/e2e"
	"github.com/vela-appliance/vela/cluster/fsm"
)

func main() {
	n := flag.Int("n", 10, "runs of create/grow/rm")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "bench/clusters:", err)
		os.Exit(1)
	}
}

// phases are the timings of one run.
type phases struct{ create, grow, rm []time.Duration }

func run(n int) error {
	if miss := hvtest.Missing(); miss != "" {
		return fmt.Errorf("this host lacks %s (make deps)", miss)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	lock, err := e2e.LockHostRoutes()
	if err != nil {
		return err
	}
	defer lock.Close()
	work, err := os.MkdirTemp("", "vela-bc-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := os.Chmod(work, 0o711); err != nil {
		return err
	}
	image, err := hvtest.BuildNodeImage(func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) })
	if err != nil {
		return err
	}
	vela := filepath.Join(work, "vela")
	if out, err := exec.Command("go", "build", "-o", vela, "github.com/vela-appliance/vela/cmd/vela").CombinedOutput(); err != nil {
		return fmt.Errorf("build vela: %v %s", err, out)
	}
	lv, err := hvtest.StartDaemon(ctx, filepath.Join(work, "lv"))
	if err != nil {
		return err
	}
	defer lv.Stop()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	ref, err := runReference(ctx, n, work, image, vela, lv.Socket, quiet)
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	got, err := runVela(ctx, n, work, image, vela, lv.Socket, quiet)
	if err != nil {
		return fmt.Errorf("vela: %w", err)
	}
	report(os.Stdout, n, got, ref)
	return nil
}

func runReference(ctx context.Context, n int, work, image, vela, socket string, log *slog.Logger) (phases, error) {
	var p phases
	mgr, err := node.New(node.Config{StateDir: filepath.Join(work, "ref"), Image: image, AuthzBinary: vela, Logger: log})
	if err != nil {
		return p, err
	}
	hv := hypervisor.New(hypervisor.Config{Socket: socket, Logger: log})
	defer hv.Close()
	ref, err := newReference(ctx, mgr, hv)
	if err != nil {
		return p, err
	}
	defer ref.close(context.Background())
	for i := -1; i < n; i++ { // run -1 warms up (shifted image, page cache): not counted
		fmt.Fprintf(os.Stderr, "reference run %d/%d\n", i+1, n)
		t0 := time.Now()
		if err := ref.create(ctx, 0, 3); err != nil {
			return p, err
		}
		t1 := time.Now()
		if err := ref.create(ctx, 3, 1); err != nil {
			return p, err
		}
		t2 := time.Now()
		if err := ref.remove(ctx, 4); err != nil {
			return p, err
		}
		if i >= 0 {
			p.create = append(p.create, t1.Sub(t0))
			p.grow = append(p.grow, t2.Sub(t1))
			p.rm = append(p.rm, time.Since(t2))
		}
	}
	return p, nil
}

func runVela(ctx context.Context, n int, work, image, vela, socket string, log *slog.Logger) (phases, error) {
	var p phases
	st, err := e2e.Start(ctx, e2e.Config{Dir: filepath.Join(work, "s"), Socket: socket, Image: image, Vela: vela,
		Pool: "10.239.0.0/16", Hostname: "hv-bench", Logger: log})
	if err != nil {
		return p, err
	}
	defer st.Close()
	if _, err := st.Admin.PutTenant(ctx, "bench", fsm.Quota{}); err != nil {
		return p, err
	}
	tok, err := st.Admin.CreateToken(ctx, api.APITokenRequest{Name: "bench", Scope: fsm.ScopeTenant, Tenant: "bench"})
	if err != nil {
		return p, err
	}
	c, err := client.New(client.Config{Server: st.Server, CAPEM: st.CAPEM, Token: tok.Token, Retry: 10 * time.Second})
	if err != nil {
		return p, err
	}
	defer c.Close()
	for i := -1; i < n; i++ {
		fmt.Fprintf(os.Stderr, "vela run %d/%d\n", i+1, n)
		name := fmt.Sprintf("c%d", i+1)
		t0 := time.Now()
		cl, err := c.CreateCluster(ctx, "bench", name, 3, false)
		if err != nil {
			return p, err
		}
		if err := waitActive(ctx, c, name, cl.Generation); err != nil {
			return p, err
		}
		t1 := time.Now()
		if cl, err = c.GrowCluster(ctx, "bench", name, 1); err != nil {
			return p, err
		}
		if err := waitActive(ctx, c, name, cl.Generation); err != nil {
			return p, err
		}
		t2 := time.Now()
		if _, err := c.DeleteCluster(ctx, "bench", name); err != nil {
			return p, err
		}
		if err := waitGone(ctx, c, st, name); err != nil {
			return p, err
		}
		if i >= 0 {
			p.create = append(p.create, t1.Sub(t0))
			p.grow = append(p.grow, t2.Sub(t1))
			p.rm = append(p.rm, time.Since(t2))
		}
	}
	return p, nil
}

// waitActive polls (every 50 ms, finer than the CLI's --wait) until the
// cluster is active at generation gen; an error state ends the run.
func waitActive(ctx context.Context, c *client.Client, name string, gen uint64) error {
	return e2e.Poll(ctx, 5*time.Minute, "cluster "+name+" active", func() (bool, string) {
		cl, err := c.GetCluster(ctx, "bench", name)
		if err == nil && cl.State == fsm.ClusterError {
			return false, "error: " + cl.Reason
		}
		return err == nil && cl.Observed >= gen && cl.State == fsm.ClusterActive, fmt.Sprintf("%s %s %v", cl.State, cl.Reason, err)
	})
}

// waitGone polls until the cluster is deleted and no domain of it is left.
func waitGone(ctx context.Context, c *client.Client, st *e2e.Stack, name string) error {
	return e2e.Poll(ctx, 5*time.Minute, "cluster "+name+" gone", func() (bool, string) {
		_, err := c.GetCluster(ctx, "bench", name)
		ds, derr := st.Domains(ctx)
		left := 0
		for _, d := range ds {
			if strings.HasPrefix(d, "bench-"+name+"-") {
				left++
			}
		}
		return client.StatusOf(err) == 404 && derr == nil && left == 0, fmt.Sprintf("%v, %d domain(s) left", err, left)
	})
}

func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i]
}

func report(w io.Writer, n int, got, ref phases) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "\nbench/clusters on %s (%d CPUs), one hypervisor, %d runs each, same run\n", host, runtime.NumCPU(), n)
	fmt.Fprintf(w, "%-34s %10s %10s %34s %7s %7s\n", "phase", "vela p50", "vela max", "reference (define+start+dockerd) p50", "max", "ratio")
	row := func(what string, v, r []time.Duration, target string) {
		fmt.Fprintf(w, "%-34s %10s %10s %34s %7s %6.2fx  %s\n", what, sec(pct(v, 50)), sec(pct(v, 100)), sec(pct(r, 50)), sec(pct(r, 100)),
			float64(pct(v, 50))/float64(pct(r, 50)), target)
	}
	row("create --nodes 3 -> active", got.create, ref.create, "target < 10 s")
	row("grow --nodes 1 -> active", got.grow, ref.grow, "target < 5 s")
	row("rm -> gone (no domain left)", got.rm, ref.rm, "")
}

func sec(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
