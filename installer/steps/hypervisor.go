package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/installer/plan"
	"github.com/vela-appliance/vela/installer/run"
)

// hypervisor waits until the machine's agent has registered its capacity
// and heartbeats (ready, not unreachable).
func (e *Env) hypervisor(ctx context.Context, s plan.Step, r run.Reporter) error {
	c, err := e.apiClient()
	if err != nil {
		return run.Failf("run again with --reset to make new secrets", "%s: %v", s.Machine, err)
	}
	deadline := time.Now().Add(ControlPlaneTimeout)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var last string
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		h, err := c.Hypervisor(cctx, s.Machine)
		cancel()
		seen := describeHypervisor(h, err)
		if err == nil && !h.Unreachable && h.State == "ready" {
			r.Logf("%s: %s", s.Machine, seen)
			return nil
		}
		if seen != last {
			r.Logf("waiting for the agent on %s to register: %s", s.Machine, seen)
			last = seen
		}
		if time.Now().After(deadline) {
			return run.Failf(strings.Replace(e.memberHint(s.Machine), "vela-server", "vela-agent", 1),
				"the agent on %s did not register within %s; the control plane said: %s", s.Machine, ControlPlaneTimeout, seen)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func describeHypervisor(h api.HypervisorStatus, err error) string {
	if err != nil {
		return "not registered (" + err.Error() + ")"
	}
	state := h.State
	if h.Unreachable {
		state = "unreachable"
	}
	return fmt.Sprintf("%s, %d CPUs, %.1f GiB memory, %.1f GiB disk for nodes", state, h.CPUs, float64(h.MemoryBytes)/(1<<30), float64(h.DiskBytes)/(1<<30))
}
