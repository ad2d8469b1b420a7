// Command lab benchmarks the whole appliance on this host: `vela install`
// of examples/lab.yaml (3 qemu VMs PXE-booting vela-os, the control plane,
// the hypervisors, the demo tenant's 3-node cluster), timed at each
// milestone, beside a reference from the same run: one vela-os VM booting
// alone from qemu start to multi-user (no PXE, no cluster). The ratio says
// how many "bare OS boots" each milestone costs. It removes the lab at the
// end (-keep leaves it running).
//
// Run as root: go run ./bench/lab [-config examples/lab.yaml] [-keep]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/bootlab"
	"github.com/vela-appliance/vela/images/store"
	"github.com/vela-appliance/vela/installer/run"
)

func main() {
	cfg := flag.String("config", "examples/lab.yaml", "install config of the lab")
	keep := flag.Bool("keep", false, "leave the lab running (remove it with `vela lab down --state-dir DIR`)")
	flag.Parse()
	if err := bench(*cfg, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench lab:", err)
		os.Exit(1)
	}
}

func bench(cfg string, keep bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	tmp, err := os.MkdirTemp("/var/tmp", "vela-bench-lab-")
	if err != nil {
		return err
	}
	bin, state := filepath.Join(tmp, "vela"), filepath.Join(tmp, "state")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/vela").CombinedOutput(); err != nil {
		return fmt.Errorf("build vela: %v\n%s", err, out)
	}
	env := append(os.Environ(), "HOME="+tmp, "XDG_CONFIG_HOME="+filepath.Join(tmp, ".config"))
	if !keep {
		defer func() {
			down := exec.Command(bin, "lab", "down", "--state-dir", state)
			down.Env = env
			if out, err := down.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "bench lab: vela lab down: %v %s\n", err, out)
				return
			}
			os.RemoveAll(tmp)
		}()
	}
	fmt.Fprintf(os.Stderr, "installing the lab (%s, state %s); the full log is %s/install.log\n", cfg, state, tmp)
	list, err := install(ctx, bin, cfg, state, env, filepath.Join(tmp, "install.log"))
	if err != nil {
		return err
	}
	if !keep {
		down := exec.CommandContext(ctx, bin, "lab", "down", "--state-dir", state)
		down.Env = env
		if out, err := down.CombinedOutput(); err != nil {
			return fmt.Errorf("vela lab down: %v %s", err, out)
		}
	}
	fmt.Fprintln(os.Stderr, "reference: one vela-os VM from qemu start to multi-user")
	ref, err := reference(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "milestone (since vela install started)\ttime\treference: one vela-os boot\tratio\t\n")
	for _, ms := range list {
		fmt.Fprintf(w, "%s\t%.1fs\t%.1fs\t%.1fx\t\n", ms.Name, ms.Since.Seconds(), ref.Seconds(), ms.Since.Seconds()/ref.Seconds())
	}
	return w.Flush()
}

// install runs the installer with JSON events and returns its milestones.
func install(ctx context.Context, bin, cfg, state string, env []string, logPath string) ([]run.Milestone, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, bin, "install", "--config", cfg, "--state-dir", state, "-o", "json")
	cmd.Env, cmd.Stderr = env, logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ms := run.NewMilestones(3, 2, 3)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		fmt.Fprintln(logf, sc.Text())
		var ev run.Event
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		if m, ok := ms.Observe(ev); ok {
			fmt.Fprintf(os.Stderr, "  %-30s %s\n", m.Name, m.Since.Round(time.Second))
		}
		if ev.Type == run.EventStepFailed {
			fmt.Fprintf(os.Stderr, "  step %s failed: %s\n", ev.Step, ev.Error)
		}
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("vela install: %v (log: %s)", err, logPath)
	}
	return ms.List(), nil
}

// reference boots the cached vela-os once, alone.
func reference(ctx context.Context) (time.Duration, error) {
	st, err := store.New(store.Config{Dir: images.DefaultStoreDir})
	if err != nil {
		return 0, err
	}
	v, err := st.Current(images.VelaOS)
	if err != nil {
		return 0, err
	}
	m, err := st.Manifest(images.VelaOS, v)
	if err != nil {
		return 0, err
	}
	return bootlab.BootVelaOS(ctx, st.VersionDir(images.VelaOS, v), m)
}
