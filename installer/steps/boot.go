package steps

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/vela-appliance/vela/installer/plan"
	"github.com/vela-appliance/vela/installer/run"
	"github.com/vela-appliance/vela/pxe"
	"github.com/vela-appliance/vela/pxe/serve"
)

// MachineBootTimeout bounds the wait for one machine to boot and report:
// generous, since a lab VM under TCG is slow and real servers POST slowly.
const MachineBootTimeout = 20 * time.Minute

// maxUnknownReported bounds the log lines about machines not in the config.
const maxUnknownReported = 32

// bootWatch holds the last boot state of each machine, fed by the boot
// services, and wakes the steps waiting for one.
type bootWatch struct {
	mu      sync.Mutex
	states  map[string]string
	details map[string]string
	changed chan struct{}
	unknown map[string]bool // MACs not in the config seen so far (bounded)
}

func newBootWatch() *bootWatch {
	return &bootWatch{states: map[string]string{}, details: map[string]string{}, changed: make(chan struct{}), unknown: map[string]bool{}}
}

// unknownMAC records an unknown MAC: how many have been seen, and whether this
// one is new. It stops recording past maxUnknownReported.
func (w *bootWatch) unknownMAC(mac string) (n int, first bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.unknown[mac] || len(w.unknown) > maxUnknownReported {
		return len(w.unknown), false
	}
	w.unknown[mac] = true
	return len(w.unknown), true
}

func (w *bootWatch) set(machine, state, detail string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.states[machine], w.details[machine] = state, detail
	close(w.changed)
	w.changed = make(chan struct{})
}

// get returns the machine's state and a channel closed at the next change.
func (w *bootWatch) get(machine string) (state, detail string, next <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.states[machine], w.details[machine], w.changed
}

// bootServices starts DHCP, TFTP and HTTP on the boot network for the rest
// of the install (a service step: a resumed run starts them again).
func (e *Env) bootServices(ctx context.Context, _ plan.Step, r run.Reporter) error {
	bg, ok := r.(run.Backgrounder)
	if !ok {
		return fmt.Errorf("boot services need a runner that keeps services running")
	}
	svc, err := serve.New(serve.Config{
		Install: e.Config, ConfigDir: e.BaseDir, IgnitionDir: e.ignitionDir(), SecretsDir: e.bootSecretsDir(),
		StateDir: filepath.Join(e.StateDir, "pxe"), ImagesDir: e.ImageDir, VelaBinary: e.velaBinary(),
		Logger: e.logger(),
		OnState: func(machine, mac, state, detail string) {
			if machine == "" {
				// Not a machine of the config: say so once per MAC (a wrong
				// MAC in the config shows up here), never flood the output.
				if n, first := e.boot.unknownMAC(mac); first && n <= maxUnknownReported {
					r.Logf("a machine not in the config is network-booting: MAC %s (ignored; `vela machines ls` lists them)", mac)
				}
				return
			}
			r.Machine(machine, state, detail)
			e.boot.set(machine, state, detail)
		},
	})
	if err != nil {
		return run.Failf("stop whatever holds the boot ports on this host (preflight names them), then run again", "%v", err)
	}
	bg.Background("boot services", svc.Run)
	r.Logf("boot services listening on %s", svc.HTTPBase)
	return nil
}

// machineBoot waits until the machine has network-booted, applied its
// Ignition config and reported back.
func (e *Env) machineBoot(ctx context.Context, s plan.Step, r run.Reporter) error {
	if ms, ok := r.(run.MachineStater); ok {
		if st, _ := ms.MachineState(s.Machine); st == pxe.StateReported {
			return nil // it reported while an earlier run was watching
		}
	}
	deadline := time.NewTimer(MachineBootTimeout)
	defer deadline.Stop()
	for {
		state, detail, next := e.boot.get(s.Machine)
		switch state {
		case pxe.StateReported:
			return nil
		case pxe.StateFailed:
			return run.Failf(e.consoleHint(s.Machine), "%s reported a boot failure: %s", s.Machine, detail)
		}
		select {
		case <-next:
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			last := state
			if last == "" {
				last = "nothing (no DHCP or boot request from its MAC)"
			}
			return run.Failf(e.consoleHint(s.Machine), "%s did not report within %s; the last thing seen was %s", s.Machine, MachineBootTimeout, last)
		}
	}
}

func (e *Env) consoleHint(machine string) string {
	if e.Config.Lab != nil {
		return fmt.Sprintf("read the VM's console log %s, then run again", filepath.Join(e.StateDir, "lab", "vms", machine, "console.log"))
	}
	return "check the machine's console and that it network-boots from the NIC with its configured MAC, then run again"
}

func (e *Env) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}
