package autoscale

import (
	"context"
	"fmt"
	"strings"

	"github.com/vela-appliance/vela/cluster/swarm"
)

// Manager is what Measure reads from one manager of the cluster's swarm.
type Manager interface {
	Tasks(ctx context.Context) ([]swarm.Task, error)
}

// Node is what Measure reads from each node's engine.
type Node interface {
	ContainerLimits(ctx context.Context) ([]swarm.Limits, error)
}

// Usage is what one measurement found.
type Usage struct {
	Reserved Resources
	Pending  []Resources
}

// Measure counts what the tenant's workloads reserve, exactly:
//   - Swarm tasks whose desired state is running and that are placed
//     (assigned through running): their --reserve-memory and --reserve-cpu;
//   - Swarm tasks pending because no node has the resources ("insufficient
//     resources" in the task's error): their reservations, as Pending;
//   - standalone containers (not Swarm tasks) running on any node: their
//     memory limit (--memory) and CPU limit (--cpus, or --cpu-quota/period).
//
// Tasks and containers without reservations or limits count as zero: they
// do not reserve anything the scheduler would refuse to place.
func Measure(ctx context.Context, m Manager, nodes []Node) (Usage, error) {
	var u Usage
	tasks, err := m.Tasks(ctx)
	if err != nil {
		return u, fmt.Errorf("reading swarm tasks: %w", err)
	}
	for _, t := range tasks {
		r := Resources{Memory: t.Spec.Resources.Reservations.MemoryBytes, NanoCPU: t.Spec.Resources.Reservations.NanoCPUs}
		switch t.Status.State {
		case "assigned", "accepted", "preparing", "ready", "starting", "running":
			u.Reserved.Memory += r.Memory
			u.Reserved.NanoCPU += r.NanoCPU
		case "pending":
			if strings.Contains(t.Status.Err, "insufficient resources") {
				u.Pending = append(u.Pending, r)
			}
		}
	}
	for i, n := range nodes {
		cs, err := n.ContainerLimits(ctx)
		if err != nil {
			return u, fmt.Errorf("reading containers of node %d: %w", i, err)
		}
		for _, c := range cs {
			if !c.SwarmTask {
				u.Reserved.Memory += c.Memory
				u.Reserved.NanoCPU += c.NanoCPUs
			}
		}
	}
	return u, nil
}
