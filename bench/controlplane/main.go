// Command controlplane benchmarks Vela's control plane against etcd 3.4 in
// the same run, on the same disk: 3 members each, 1/16/64 concurrent clients
// doing small writes through the API (Vela over HTTPS/JSON, etcd over its
// v3 JSON gateway with TLS), then the time from SIGKILL of Vela's leader to
// the first successful write, and optionally a long fault-harness run.
// It prints ratios; absolute numbers vary with the machine's load.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vela-appliance/vela/cluster/faults"
	"github.com/vela-appliance/vela/cluster/fsm"
)

type result struct {
	ops      int
	errs     int
	elapsed  time.Duration
	lat      []time.Duration
	p50, p99 time.Duration
}

func (r *result) opsPerSec() float64 { return float64(r.ops) / r.elapsed.Seconds() }

// load runs clients goroutines calling put for d and collects latencies.
func load(ctx context.Context, clients int, d time.Duration, put func(ctx context.Context, client, seq int) error) *result {
	var mu sync.Mutex
	r := &result{}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			errs := 0
			for seq := 0; ctx.Err() == nil; seq++ {
				t := time.Now()
				if err := put(context.WithoutCancel(ctx), c, seq); err != nil {
					errs++
					continue
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			r.lat = append(r.lat, lat...)
			r.errs += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	r.ops = len(r.lat)
	slices.Sort(r.lat)
	if n := len(r.lat); n > 0 {
		r.p50, r.p99 = r.lat[n/2], r.lat[min(n-1, n*99/100)]
	}
	return r
}

func main() {
	var (
		bin      = flag.String("vela", "", "vela binary (default: go build ./cmd/vela)")
		etcdBin  = flag.String("etcd", "/usr/bin/etcd", "etcd 3.4 binary (Debian etcd-server)")
		levels   = flag.String("clients", "1,16,64", "concurrent client counts")
		dur      = flag.Duration("duration", 10*time.Second, "load time per client count and system")
		kills    = flag.Int("kills", 10, "leader SIGKILLs for the failover measurement")
		stores   = flag.String("stores", "wal,bolt", "Vela log stores to measure")
		long     = flag.Duration("faults", 0, "also run the fault harness this long on 3 and 5 members (e.g. 5m)")
		seed     = flag.Int64("seed", time.Now().UnixNano(), "fault harness seed")
		keepDirs = flag.Bool("keep", false, "keep the scratch directory")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *bin, *etcdBin, *levels, *dur, *kills, *stores, *long, *seed, *keepDirs); err != nil {
		fmt.Fprintln(os.Stderr, "bench/controlplane:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, bin, etcdBin, levels string, dur time.Duration, kills int, stores string, long time.Duration, seed int64, keep bool) error {
	dir, err := os.MkdirTemp("", "vela-bench-cp-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	if bin == "" {
		bin = filepath.Join(dir, "vela")
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/vela-appliance/vela/cmd/vela").CombinedOutput(); err != nil {
			return fmt.Errorf("build vela: %v\n%s", err, out)
		}
	}
	var counts []int
	for _, s := range strings.Split(levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-clients %q: %w", levels, err)
		}
		counts = append(counts, n)
	}
	results := map[string]map[int]*result{}
	systems := []string{}
	for _, st := range strings.Split(stores, ",") {
		name := "vela/" + st
		systems = append(systems, name)
		results[name] = map[int]*result{}
		c, err := faults.StartCluster(ctx, bin, filepath.Join(dir, "vela-"+st), 3, "--log-store", st)
		if err != nil {
			c.Close()
			return err
		}
		for _, n := range counts {
			fmt.Fprintf(os.Stderr, "%s: %d clients...\n", name, n)
			results[name][n] = load(ctx, n, dur, velaPut(c))
		}
		c.Stop()
	}
	results["etcd"] = map[int]*result{}
	systems = append(systems, "etcd")
	edir := filepath.Join(dir, "etcd")
	os.MkdirAll(edir, 0o700)
	ec, err := startEtcd(ctx, etcdBin, edir, 3)
	if err != nil {
		if ec != nil {
			ec.close()
		}
		return err
	}
	for _, n := range counts {
		fmt.Fprintf(os.Stderr, "etcd: %d clients...\n", n)
		results["etcd"][n] = load(ctx, n, dur, func(ctx context.Context, client, seq int) error {
			return ec.put(ctx, client+seq, fmt.Sprintf("b-%d-%d", client, seq%100), strings.Repeat("v", 100))
		})
	}
	ec.close()
	printTable(systems, counts, results, dur)

	fmt.Println()
	for _, graceful := range []bool{false, true} {
		n, what := kills, "SIGKILL"
		if graceful {
			n, what = max(3, kills/3), "SIGTERM (leadership transfer)"
		}
		fo, err := failover(ctx, bin, filepath.Join(dir, fmt.Sprintf("failover-%v", graceful)), n, graceful)
		if err != nil {
			return err
		}
		slices.Sort(fo)
		fmt.Printf("leader %s -> first successful write (vela/wal, 3 members, %d rounds): p50 %s  max %s  (target < 2s)\n", what, len(fo), fo[len(fo)/2].Round(time.Millisecond), fo[len(fo)-1].Round(time.Millisecond))
	}

	if long > 0 {
		for _, n := range []int{3, 5} {
			rep, err := faults.Run(ctx, faults.RunConfig{Bin: bin, Dir: filepath.Join(dir, fmt.Sprintf("faults-%d", n)), Members: n, Clients: 16, Keys: 10, Duration: long, Seed: seed,
				Faults: []string{faults.FaultKill, faults.FaultPause, faults.FaultPartition}})
			if err != nil {
				return fmt.Errorf("fault run on %d members: %w", n, err)
			}
			fmt.Printf("fault harness, %d members, %s, seed %d: %d ops, %d acked puts, %d unknown, faults %v, lost acked writes %d, linearizability %s\n",
				n, long, seed, rep.Ops, rep.Acked, rep.Unknown, rep.Faults, len(rep.Missing), rep.Result)
		}
	}
	return nil
}

func velaPut(c *faults.Cluster) func(ctx context.Context, client, seq int) error {
	cls := make([]interface {
		PutMachine(context.Context, fsm.Machine) (fsm.Machine, error)
	}, len(c.Procs))
	for i, p := range c.Procs {
		cl, err := c.Client(p, 5*time.Second)
		if err != nil {
			panic(err)
		}
		cls[i] = cl
	}
	return func(ctx context.Context, client, seq int) error {
		_, err := cls[(client+seq)%len(cls)].PutMachine(ctx, fsm.Machine{Name: fmt.Sprintf("b-%d-%d", client, seq%100), Labels: map[string]string{"v": strings.Repeat("v", 100)}})
		return err
	}
}

func printTable(systems []string, counts []int, res map[string]map[int]*result, dur time.Duration) {
	fmt.Printf("small writes through the API, 3 members each on this machine, same disk, %s per cell\n\n", dur)
	fmt.Printf("%-8s %-10s %10s %10s %10s %7s %16s %16s\n", "clients", "system", "ops/s", "p50", "p99", "errors", "ops/s vs etcd", "p99 vs etcd")
	for _, n := range counts {
		e := res["etcd"][n]
		for _, s := range systems {
			r := res[s][n]
			fmt.Printf("%-8d %-10s %10.0f %10s %10s %7d %15.2fx %15.2fx\n", n, s, r.opsPerSec(), r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.errs,
				r.opsPerSec()/e.opsPerSec(), float64(r.p99)/float64(max(e.p99, 1)))
		}
	}
}
