// Command pxe-bench compares Vela's boot services with the reference stack
// (dnsmasq for DHCP+TFTP, nginx for HTTP) under N simulated PXE clients at
// once, each with its own MAC, over a veth into a bridge (MTU 1500):
// DHCP as firmware -> TFTP undionly.kpxe -> DHCP as iPXE -> HTTP script ->
// kernel + initramfs -> Ignition. It prints a side-by-side table with ratios
// (vela / reference) from the same run. Needs root, dnsmasq-base, nginx-light,
// ipxe and iproute2. It only sends traffic inside the namespaces it creates.
//
//	go run ./bench/pxe -n 10,100,500,1000
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/pxe/serve"
)

func main() {
	role := flag.String("role", "bench", "internal: bench, client or serve")
	ns := flag.String("n", "10,100,500,1000", "numbers of clients at once, comma-separated")
	kernelMB := flag.Int("kernel-mb", 30, "kernel size in MiB")
	initrdMB := flag.Int("initrd-mb", 60, "initramfs size in MiB")
	velaBin := flag.String("vela", "", "a built vela binary to run as `vela pxe serve` (default: this program runs the same serve package)")
	cfgPath := flag.String("config", "", "internal (serve)")
	ign := flag.String("ign", "", "internal (serve)")
	state := flag.String("state", "", "internal (serve)")
	clients := flag.Int("clients", 0, "internal (client)")
	only := flag.String("only", "", "run one stack only: vela or ref (the table then has no ratios)")
	flag.Parse()
	var err error
	switch *role {
	case "client":
		err = runClients(*clients, "eth0")
	case "serve":
		err = runServe(*cfgPath, *ign, *state)
	default:
		err = bench(*ns, *kernelMB, *initrdMB, *velaBin, *only)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pxe-bench:", err)
		os.Exit(1)
	}
}

// runServe is `vela pxe serve` without the command line around it.
func runServe(cfgPath, ign, state string) error {
	cfg, _, diags := config.Load(cfgPath)
	if cfg == nil || diags.HasErrors() {
		return fmt.Errorf("config: %v", diags)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	svc, err := serve.New(serve.Config{Install: cfg, ConfigDir: filepath.Dir(cfgPath), IgnitionDir: ign, StateDir: state,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		return err
	}
	return svc.Run(ctx)
}

type row struct {
	sum      summary
	cpu, rss float64
}

func bench(nList string, kernelMB, initrdMB int, velaBin, only string) error {
	var ns []int
	for _, s := range strings.Split(nList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 1280 {
			return fmt.Errorf("-n %q: want numbers from 1 to 1280", s)
		}
		ns = append(ns, n)
	}
	maxN := 0
	for _, n := range ns {
		maxN = max(maxN, n)
	}
	dir, err := os.MkdirTemp("", "pxe-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	if err := writeFiles(dir, kernelMB, initrdMB, maxN); err != nil {
		return err
	}
	l, err := newLab(dir, maxN)
	if err != nil {
		return err
	}
	defer l.close()
	self, _ := os.Executable()
	results := map[int][2]row{}
	for run, n := range ns {
		var pair [2]row
		for k, start := range []func() (*server, error){
			func() (*server, error) { return startVela(l, run, velaBin) },
			func() (*server, error) { return startReference(l, run) },
		} {
			if (only == "vela" && k == 1) || (only == "ref" && k == 0) {
				continue
			}
			srv, err := start()
			if err != nil {
				return err
			}
			u := startUsage(srv.pids())
			out, err := exec.Command("ip", "netns", "exec", l.cli, self, "-role", "client", "-clients", strconv.Itoa(n)).Output()
			cpu, rss := u.finish()
			srv.stop()
			if err != nil {
				return fmt.Errorf("%s, N=%d: client: %v", srv.name, n, err)
			}
			var res []clientResult
			if err := json.NewDecoder(bytes.NewReader(out)).Decode(&res); err != nil {
				return fmt.Errorf("client output: %v", err)
			}
			pair[k] = row{summarize(res), cpu, rss}
			fmt.Fprintf(os.Stderr, "N=%d %s: %.1f s, %d failures %v; first: %s\n", n, srv.name, pair[k].sum.Total, pair[k].sum.Failures, failurePhases(res), pair[k].sum.FirstErr)
		}
		results[n] = pair
	}
	fmt.Printf("PXE boot, N clients at once over one veth (MTU 1500): DHCP -> TFTP undionly.kpxe -> DHCP -> script -> %d MiB kernel + %d MiB initramfs -> Ignition\n", kernelMB, initrdMB)
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "N\tstack\ttotal s\tp50 s\tp99 s\tfailures\tserver CPU s\tpeak RSS MiB\tp50 DHCP s\tp50 TFTP s\tp50 HTTP s\t")
	for _, n := range ns {
		p := results[n]
		for k, name := range []string{"vela pxe serve", "dnsmasq + nginx"} {
			r := p[k]
			if r.sum.N == 0 {
				continue
			}
			fmt.Fprintf(w, "%d\t%s\t%.2f\t%.2f\t%.2f\t%d\t%.2f\t%.1f\t%.2f\t%.2f\t%.2f\t\n", n, name, r.sum.Total, r.sum.P50, r.sum.P99, r.sum.Failures, r.cpu, r.rss,
				r.sum.DHCP50, r.sum.TFTP50, r.sum.HTTP50)
		}
		v, r := p[0], p[1]
		if v.sum.N == 0 || r.sum.N == 0 {
			continue
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t\t%s\t%s\t%s\t%s\t%s\t\n", n, "ratio vela/ref", ratio(v.sum.Total, r.sum.Total), ratio(v.sum.P50, r.sum.P50),
			ratio(v.sum.P99, r.sum.P99), ratio(v.cpu, r.cpu), ratio(v.rss, r.rss), ratio(v.sum.DHCP50, r.sum.DHCP50), ratio(v.sum.TFTP50, r.sum.TFTP50), ratio(v.sum.HTTP50, r.sum.HTTP50))
	}
	return w.Flush()
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// failurePhases counts failures by the phase they happened in.
func failurePhases(res []clientResult) map[string]int {
	out := map[string]int{}
	for _, r := range res {
		if r.Err != "" {
			phase, _, _ := strings.Cut(r.Err, ":")
			if strings.HasPrefix(phase, "GET") || strings.Contains(phase, "http") {
				phase = "http"
			}
			out[strings.Fields(phase + " ?")[0]]++
		}
	}
	return out
}
