package scheduler

import (
	"fmt"
	"sort"
	"strings"
)

// NodeSize is what one node takes: 4 GiB, 2 vCPUs, 20 GB of disk.
var NodeSize = Resources{Memory: 4 << 30, CPUs: 2, Disk: 20e9}

// Resources are amounts of memory (bytes), vCPUs and disk (bytes).
type Resources struct {
	Memory int64
	CPUs   int
	Disk   int64
}

func (r Resources) fits(in Resources) bool {
	return r.Memory <= in.Memory && r.CPUs <= in.CPUs && r.Disk <= in.Disk
}

// Hypervisor is one hypervisor as the scheduler sees it.
type Hypervisor struct {
	Name      string
	Ready     bool      // registered and heartbeating, not draining
	Capacity  Resources // what it offers to nodes (after the host's reserve)
	Allocated Resources // taken by nodes already placed on it
	Clusters  map[string]int
}

// Free is what is left on the hypervisor.
func (h Hypervisor) Free() Resources {
	return Resources{h.Capacity.Memory - h.Allocated.Memory, h.Capacity.CPUs - h.Allocated.CPUs, h.Capacity.Disk - h.Allocated.Disk}
}

// Request asks for n more nodes of one cluster.
type Request struct {
	Cluster string
	Nodes   int
	Size    Resources // zero: NodeSize
}

// NoCapacityError says why a request cannot be placed, with the figures.
type NoCapacityError struct {
	Cluster  string
	Needed   int
	Size     Resources
	Possible int // how many of the nodes could be placed
	Ready    int // ready hypervisors
	Best     string
	BestFree Resources
}

func (e *NoCapacityError) Error() string { return fmt.Sprintf("cluster %q: %s", e.Cluster, e.Reason()) }

// Reason is the error without the cluster's name (for a status that is
// shown beside the name already).
func (e *NoCapacityError) Reason() string {
	if e.Ready == 0 {
		return "no capacity: no hypervisor is ready; check `vela hypervisors ls`"
	}
	return fmt.Sprintf("no capacity: needs %d node(s) of %s and %d vCPUs; only %d fit on the %d ready hypervisor(s) (largest free: %s on %s); add a hypervisor or free capacity",
		e.Needed, gib(e.Size.Memory), e.Size.CPUs, e.Possible, e.Ready, gib(e.BestFree.Memory), e.Best)
}

func gib(b int64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }

// Place returns the hypervisor of each new node, in order. It spreads: each
// node goes to a fitting hypervisor hosting the fewest nodes of the cluster,
// then the one with the most free memory, then by name (deterministic).
func Place(hvs []Hypervisor, req Request) ([]string, error) {
	size := req.Size
	if size == (Resources{}) {
		size = NodeSize
	}
	type slot struct {
		name  string
		free  Resources
		count int
	}
	var slots []*slot
	var best slot // the largest free memory before placing, for the error
	for _, h := range hvs {
		if !h.Ready {
			continue
		}
		s := &slot{name: h.Name, free: h.Free(), count: h.Clusters[req.Cluster]}
		slots = append(slots, s)
		if best.name == "" || s.free.Memory > best.free.Memory {
			best = *s
		}
	}
	out := make([]string, 0, req.Nodes)
	for i := 0; i < req.Nodes; i++ {
		sort.SliceStable(slots, func(a, b int) bool {
			x, y := slots[a], slots[b]
			if x.count != y.count {
				return x.count < y.count
			}
			if x.free.Memory != y.free.Memory {
				return x.free.Memory > y.free.Memory
			}
			return strings.Compare(x.name, y.name) < 0
		})
		var chosen *slot
		for _, s := range slots {
			if size.fits(s.free) {
				chosen = s
				break
			}
		}
		if chosen == nil {
			return nil, &NoCapacityError{Cluster: req.Cluster, Needed: req.Nodes, Size: size, Possible: i,
				Ready: len(slots), Best: best.name, BestFree: best.free}
		}
		chosen.free.Memory -= size.Memory
		chosen.free.CPUs -= size.CPUs
		chosen.free.Disk -= size.Disk
		chosen.count++
		out = append(out, chosen.name)
	}
	return out, nil
}
