package autoscale

import (
	"fmt"
	"math"
	"time"
)

// Policy is a cluster's autoscaling setting.
type Policy struct {
	Enabled   bool
	Threshold float64       // fraction of capacity reserved that triggers growth; default 0.8
	Interval  time.Duration // how often the controller evaluates; default 10s
	Cooldown  time.Duration // minimum time between two scale-ups; default 60s
	Step      int           // nodes added per scale-up when nothing asks for more; default 1
	Max       int           // upper bound on nodes: the tenant's max_nodes_per_cluster (or lower)
}

// Defaults for a cluster created with --autoscale.
const (
	DefaultThreshold = 0.8
	DefaultInterval  = 10 * time.Second
	DefaultCooldown  = 60 * time.Second
	DefaultStep      = 1
)

// WithDefaults fills the zero fields of p.
func (p Policy) WithDefaults() Policy {
	if p.Threshold == 0 {
		p.Threshold = DefaultThreshold
	}
	if p.Interval == 0 {
		p.Interval = DefaultInterval
	}
	if p.Cooldown == 0 {
		p.Cooldown = DefaultCooldown
	}
	if p.Step == 0 {
		p.Step = DefaultStep
	}
	return p
}

// Resources is an amount of memory (bytes) and CPU (nano-CPUs, 1e9 = 1 CPU).
type Resources struct {
	Memory  int64
	NanoCPU int64
}

// State is what was measured of one cluster.
type State struct {
	Nodes        int       // nodes in the cluster (running or being created)
	Creating     int       // of which still being created
	NodeCapacity Resources // limits of one node: 4 GiB, 2 CPUs
	Reserved     Resources // Swarm task reservations + standalone container limits
	Pending      []Resources
	LastScaleUp  time.Time // zero if never
	// Room is how many more nodes the ready hypervisors can hold (the
	// controller asks the scheduler), when RoomKnown; RoomDetail gives the
	// figures for the event ("largest free: 1.5 GiB on hv-2").
	Room       int
	RoomKnown  bool
	RoomDetail string
}

// Decision is what Decide wants done and why, with the figures.
type Decision struct {
	Add    int    // nodes to add now (0: none)
	Reason string // why it adds, or why it would but cannot ("" when nothing to do)
	// Blocked is set when growth was wanted but is not allowed (quota,
	// cooldown is not a block): an event says so. Block says by what.
	Blocked bool
	Block   string
}

// What blocks a wanted growth (Decision.Block).
const (
	BlockMax      = "max"       // the cluster is at --max or the tenant's quota
	BlockRoom     = "room"      // the hypervisors have no room for a node
	BlockTooLarge = "too-large" // pending tasks reserve more than a node has
)

// Acted tells whether the decision should be recorded as an event.
func (d Decision) Acted() bool { return d.Add > 0 || d.Blocked }

// Decide returns how many nodes to add to a cluster now. It never returns a
// negative number: autoscaling only grows.
func Decide(s State, p Policy, now time.Time) Decision {
	p = p.WithDefaults()
	if !p.Enabled || s.Nodes <= 0 || s.NodeCapacity.Memory <= 0 || s.NodeCapacity.NanoCPU <= 0 {
		return Decision{}
	}
	capacity := Resources{s.NodeCapacity.Memory * int64(s.Nodes), s.NodeCapacity.NanoCPU * int64(s.Nodes)}
	memFrac := float64(s.Reserved.Memory) / float64(capacity.Memory)
	cpuFrac := float64(s.Reserved.NanoCPU) / float64(capacity.NanoCPU)

	var why string
	want := 0
	fits, tooBig := splitPending(s.Pending, s.NodeCapacity)
	if len(fits) > 0 {
		var need Resources
		for _, r := range fits {
			need.Memory += r.Memory
			need.NanoCPU += r.NanoCPU
		}
		want = max(p.Step, nodesFor(need, s.NodeCapacity))
		why = fmt.Sprintf("%d task(s) pending for lack of resources (%s, %s)", len(fits), gib(need.Memory), cpus(need.NanoCPU))
	}
	if memFrac >= p.Threshold || cpuFrac >= p.Threshold {
		// Enough nodes to bring both back under the threshold, at least Step.
		n := max(p.Step, toFit(s.Reserved.Memory, s.NodeCapacity.Memory, s.Nodes, p.Threshold),
			toFit(s.Reserved.NanoCPU, s.NodeCapacity.NanoCPU, s.Nodes, p.Threshold))
		want = max(want, n)
		r := usage(memFrac, cpuFrac, capacity, p.Threshold)
		if why != "" {
			why += "; "
		}
		why += r
	}
	if want == 0 {
		if len(tooBig) > 0 {
			r := tooBig[0]
			return Decision{Blocked: true, Block: BlockTooLarge, Reason: fmt.Sprintf("%d task(s) pending that no node can hold (one reserves %s, %s; a node has %s, %s): adding nodes cannot place them; lower the service's reservations",
				len(tooBig), gib(r.Memory), cpus(r.NanoCPU), gib(s.NodeCapacity.Memory), cpus(s.NodeCapacity.NanoCPU))}
		}
		return Decision{}
	}
	if s.Creating > 0 {
		return Decision{} // the last scale-up is still arriving: measure again after it
	}
	if !s.LastScaleUp.IsZero() && now.Sub(s.LastScaleUp) < p.Cooldown {
		return Decision{} // in cooldown; not an event, the next evaluation acts
	}
	room := p.Max - s.Nodes
	if p.Max > 0 && room <= 0 {
		return Decision{Blocked: true, Block: BlockMax, Reason: fmt.Sprintf("%s: would add %s, but the cluster has %d of its maximum %d nodes; raise the tenant's quota or --max",
			why, plural(want), s.Nodes, p.Max)}
	}
	add := want
	if p.Max > 0 && add > room {
		add = room
		why += fmt.Sprintf(" (limited to %d by the maximum of %d nodes)", room, p.Max)
	}
	if s.RoomKnown && s.Room <= 0 {
		return Decision{Blocked: true, Block: BlockRoom, Reason: fmt.Sprintf("%s: would add %s, but the hypervisors have no room for another node of %s, %s (%s); add a hypervisor or free capacity",
			why, plural(add), gib(s.NodeCapacity.Memory), cpus(s.NodeCapacity.NanoCPU), orNone(s.RoomDetail))}
	}
	if s.RoomKnown && add > s.Room {
		add = s.Room
		why += fmt.Sprintf(" (limited to %d by the hypervisors' free capacity)", s.Room)
	}
	return Decision{Add: add, Reason: fmt.Sprintf("%s: adding %s", why, plural(add))}
}

// splitPending separates pending tasks a node could hold from those larger
// than any node (more nodes would never place them).
func splitPending(pending []Resources, node Resources) (fits, tooBig []Resources) {
	for _, r := range pending {
		if r.Memory > node.Memory || r.NanoCPU > node.NanoCPU {
			tooBig = append(tooBig, r)
		} else {
			fits = append(fits, r)
		}
	}
	return fits, tooBig
}

// nodesFor is how many nodes it takes to hold need.
func nodesFor(need, node Resources) int {
	return max(ceilDiv(need.Memory, node.Memory), ceilDiv(need.NanoCPU, node.NanoCPU))
}

// toFit is how many nodes to add so that reserved < threshold of capacity.
func toFit(reserved, perNode int64, nodes int, threshold float64) int {
	if float64(reserved) < threshold*float64(perNode)*float64(nodes) {
		return 0
	}
	total := int(math.Floor(float64(reserved)/(threshold*float64(perNode)))) + 1
	return max(0, total-nodes)
}

func ceilDiv(a, b int64) int {
	if a <= 0 {
		return 0
	}
	return int((a + b - 1) / b)
}

func usage(memFrac, cpuFrac float64, capacity Resources, threshold float64) string {
	var parts []string
	if memFrac >= threshold {
		parts = append(parts, fmt.Sprintf("memory %.0f%% of %s reserved >= %.0f%%", memFrac*100, gib(capacity.Memory), threshold*100))
	}
	if cpuFrac >= threshold {
		parts = append(parts, fmt.Sprintf("CPU %.0f%% of %s reserved >= %.0f%%", cpuFrac*100, cpus(capacity.NanoCPU), threshold*100))
	}
	if len(parts) == 2 {
		return parts[0] + " and " + parts[1]
	}
	return parts[0]
}

func gib(b int64) string {
	v := float64(b) / (1 << 30)
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f GiB", v)
	}
	return fmt.Sprintf("%.1f GiB", v)
}

func cpus(n int64) string {
	v := float64(n) / 1e9
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f CPUs", v)
	}
	return fmt.Sprintf("%.1f CPUs", v)
}

func orNone(s string) string {
	if s == "" {
		return "no hypervisor is ready"
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return "1 node"
	}
	return fmt.Sprintf("%d nodes", n)
}
