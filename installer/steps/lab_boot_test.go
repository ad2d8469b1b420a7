package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/installer/lab"
	"github.com/vela-appliance/vela/installer/plan"
	"github.com/vela-appliance/vela/installer/run"
	"github.com/vela-appliance/vela/pxe"
	"github.com/vela-appliance/vela/pxe/pxetest"
)

func needLab(t *testing.T) string {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, p := range []string{"qemu-system-x86_64", "ip", "iptables", "cpio", "busybox"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	kernel := pxetest.Kernel()
	if kernel == "" {
		missing = append(missing, "a Debian kernel in /boot (linux-image-amd64)")
	}
	if len(missing) == 0 {
		return kernel
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI needs %v (make deps installs them)", missing)
	}
	t.Skipf("needs %v", missing)
	return ""
}

// TestLabBootsThroughTheInstaller runs the installer's own plan and
// executors — lab network, secrets, per-machine Ignition, boot services,
// lab VMs, machine boot — for a three-VM lab booting a tiny custom OS, and
// checks that each VM network-booted and reported the sha256 of its own
// rendered Ignition config. Then it kills nothing but reruns the same plan:
// every step is already done and the boot services start again.
func TestLabBootsThroughTheInstaller(t *testing.T) {
	kernel := needLab(t)
	dir := t.TempDir()
	initrd := pxetest.BuildGuest(t, kernel, dir)
	n := os.Getpid()%200 + 20
	bridge := fmt.Sprintf("vst%d", os.Getpid()%100000)
	text := fmt.Sprintf(`version: 1
name: steps-test
network:
  address: 10.253.%d.1/24
  dhcp: {mode: full, pool: 10.253.%d.100-10.253.%d.150}
os: {image: custom, kernel: %s, initramfs: %s, kernel_args: "console=ttyS0"}
lab: {count: 3, bridge: %s, memory: 1GiB, cpus: 1, accel: tcg, firmware: bios}
`, n, n, n, kernel, initrd, bridge)
	cfg, _, diags := config.Parse("lab.yaml", []byte(text))
	if diags.HasErrors() {
		t.Fatal(diags.Errors())
	}
	stateDir := filepath.Join(dir, "state")
	t.Cleanup(func() {
		l, err := lab.Open(stateDir)
		if err == nil {
			l.Down(context.Background())
		}
	})

	// The plan up to the machines' boot (as `vela install --until
	// machine-boot`): the later steps need the control plane on the machines,
	// which this tiny OS does not run.
	p, err := plan.Make(cfg).Until(string(plan.MachineBoot))
	if err != nil {
		t.Fatal(err)
	}

	var events []run.Event
	runOnce := func() {
		// The machine's image store: the node image the images step makes
		// for the hypervisors is built once per recipe and shared.
		store := os.Getenv(images.EnvStoreDir)
		if store == "" {
			store = images.DefaultStoreDir
		}
		env := &Env{Config: cfg, BaseDir: dir, StateDir: stateDir, ImageDir: store}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		r, err := run.New(run.Config{Plan: p, Executors: Executors(env), StateDir: stateDir, Emit: func(ev run.Event) { events = append(events, ev) }})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := r.Run(ctx); err != nil {
			for _, m := range cfg.Machines {
				b, _ := os.ReadFile(filepath.Join(stateDir, "lab", "vms", m.Name, "console.log"))
				t.Logf("console of %s:\n%s", m.Name, b)
			}
			t.Fatal(err)
		}
		t.Logf("plan of %d steps ran in %s", len(p.Steps), time.Since(start).Round(time.Millisecond))
	}
	runOnce()

	for _, m := range cfg.Machines {
		ign, err := os.ReadFile(filepath.Join(stateDir, "ignition", m.Name+".ign"))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(ign)
		want := "sha256=" + hex.EncodeToString(sum[:])
		var got string
		for _, ev := range events {
			if ev.Type == run.EventMachine && ev.Machine == m.Name && ev.State == pxe.StateReported {
				got = ev.Message
			}
		}
		if got != want {
			t.Errorf("%s reported %q, want its own config's %s", m.Name, got, want)
		}
		if fi, err := os.Stat(filepath.Join(stateDir, "ignition", m.Name+".ign")); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s's rendered config: %v %v", m.Name, fi.Mode(), err)
		}
	}

	// A rerun finds every step done; only the boot services start again.
	events = nil
	runOnce()
	var ran []string
	for _, ev := range events {
		if ev.Type == run.EventStepStarted {
			ran = append(ran, ev.Step)
		}
	}
	if strings.Join(ran, ",") != string(plan.BootServices) {
		t.Errorf("rerun ran %v, want only the boot services", ran)
	}
}
