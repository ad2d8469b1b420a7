package autoscale

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const gi = int64(1) << 30

var node = Resources{Memory: 4 * gi, NanoCPU: 2e9}
var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestDecide(t *testing.T) {
	on := Policy{Enabled: true, Max: 10}
	for _, tc := range []struct {
		name string
		s    State
		p    Policy
		now  time.Time
		want Decision
	}{
		{"off", State{Nodes: 2, NodeCapacity: node, Reserved: Resources{8 * gi, 0}}, Policy{Max: 10}, t0, Decision{}},
		{"below threshold", State{Nodes: 2, NodeCapacity: node, Reserved: Resources{6 * gi, 1e9}}, on, t0, Decision{}},
		{"memory at threshold", State{Nodes: 2, NodeCapacity: node, Reserved: Resources{6_871_947_674, 1e9}}, on, t0,
			Decision{Add: 1, Reason: "memory 80% of 8 GiB reserved >= 80%: adding 1 node"}},
		{"memory 83%", State{Nodes: 2, NodeCapacity: node, Reserved: Resources{7_130_000_000, 0}}, on, t0,
			Decision{Add: 1, Reason: "memory 83% of 8 GiB reserved >= 80%: adding 1 node"}},
		{"cpu", State{Nodes: 1, NodeCapacity: node, Reserved: Resources{0, 1_800_000_000}}, on, t0,
			Decision{Add: 1, Reason: "CPU 90% of 2 CPUs reserved >= 80%: adding 1 node"}},
		{"both, far over: enough nodes to get back under", State{Nodes: 1, NodeCapacity: node, Reserved: Resources{4 * gi, 2e9}}, on, t0,
			Decision{Add: 1, Reason: "memory 100% of 4 GiB reserved >= 80% and CPU 100% of 2 CPUs reserved >= 80%: adding 1 node"}},
		{"pending tasks need more than a step", State{Nodes: 1, NodeCapacity: node, Reserved: Resources{1 * gi, 0},
			Pending: []Resources{{3 * gi, 0}, {3 * gi, 0}, {3 * gi, 0}}}, on, t0,
			Decision{Add: 3, Reason: "3 task(s) pending for lack of resources (9 GiB, 0 CPUs): adding 3 nodes"}},
		{"pending task larger than any node", State{Nodes: 2, NodeCapacity: node, Pending: []Resources{{8 * gi, 0}}}, on, t0,
			Decision{Blocked: true, Block: BlockTooLarge, Reason: "1 task(s) pending that no node can hold (one reserves 8 GiB, 0 CPUs; a node has 4 GiB, 2 CPUs): adding nodes cannot place them; lower the service's reservations"}},
		{"cooldown", State{Nodes: 2, NodeCapacity: node, Reserved: Resources{8 * gi, 0}, LastScaleUp: t0.Add(-30 * time.Second)}, on, t0, Decision{}},
		{"after cooldown", State{Nodes: 2, NodeCapacity: node, Reserved: Resources{7 * gi, 0}, LastScaleUp: t0.Add(-61 * time.Second)}, on, t0,
			Decision{Add: 1, Reason: "memory 88% of 8 GiB reserved >= 80%: adding 1 node"}},
		{"nodes still being created", State{Nodes: 3, Creating: 1, NodeCapacity: node, Reserved: Resources{11 * gi, 0}}, on, t0, Decision{}},
		{"quota reached", State{Nodes: 10, NodeCapacity: node, Reserved: Resources{39 * gi, 0}}, on, t0,
			Decision{Blocked: true, Block: BlockMax, Reason: "memory 98% of 40 GiB reserved >= 80%: would add 3 nodes, but the cluster has 10 of its maximum 10 nodes; raise the tenant's quota or --max"}},
		{"capped by quota", State{Nodes: 9, NodeCapacity: node, Pending: []Resources{{3 * gi, 0}, {3 * gi, 0}, {3 * gi, 0}}}, on, t0,
			Decision{Add: 1, Reason: "3 task(s) pending for lack of resources (9 GiB, 0 CPUs) (limited to 1 by the maximum of 10 nodes): adding 1 node"}},
		{"no capacity", State{Nodes: 2, NodeCapacity: node, Reserved: Resources{7 * gi, 0}, RoomKnown: true, RoomDetail: "largest free: 1.5 GiB on hv-2"}, on, t0,
			Decision{Blocked: true, Block: BlockRoom, Reason: "memory 88% of 8 GiB reserved >= 80%: would add 1 node, but the hypervisors have no room for another node of 4 GiB, 2 CPUs (largest free: 1.5 GiB on hv-2); add a hypervisor or free capacity"}},
		{"no hypervisor ready", State{Nodes: 2, NodeCapacity: node, Reserved: Resources{7 * gi, 0}, RoomKnown: true}, on, t0,
			Decision{Blocked: true, Block: BlockRoom, Reason: "memory 88% of 8 GiB reserved >= 80%: would add 1 node, but the hypervisors have no room for another node of 4 GiB, 2 CPUs (no hypervisor is ready); add a hypervisor or free capacity"}},
		{"capped by capacity", State{Nodes: 1, NodeCapacity: node, Pending: []Resources{{3 * gi, 0}, {3 * gi, 0}, {3 * gi, 0}}, Room: 2, RoomKnown: true}, on, t0,
			Decision{Add: 2, Reason: "3 task(s) pending for lack of resources (9 GiB, 0 CPUs) (limited to 2 by the hypervisors' free capacity): adding 2 nodes"}},
		{"room is not checked in cooldown", State{Nodes: 2, NodeCapacity: node, Reserved: Resources{7 * gi, 0}, RoomKnown: true, LastScaleUp: t0.Add(-time.Second)}, on, t0, Decision{}},
		{"never down: 10 nodes, nothing reserved", State{Nodes: 10, NodeCapacity: node}, on, t0, Decision{}},
		{"custom threshold and step", State{Nodes: 4, NodeCapacity: node, Reserved: Resources{9 * gi, 0}}, Policy{Enabled: true, Threshold: 0.5, Step: 2, Max: 10}, t0,
			Decision{Add: 2, Reason: "memory 56% of 16 GiB reserved >= 50%: adding 2 nodes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(tc.s, tc.p, tc.now)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Property: whatever the state, Decide never removes nodes, never goes past
// Max, and after adding, the reserved share is back under the threshold
// unless the quota capped it.
func TestDecideProperties(t *testing.T) {
	p := Policy{Enabled: true, Max: 10}
	for nodes := 1; nodes <= 10; nodes++ {
		for mem := int64(0); mem <= int64(nodes)*4*gi; mem += gi / 2 {
			for _, cpu := range []int64{0, 1e9, int64(nodes) * 2e9} {
				s := State{Nodes: nodes, NodeCapacity: node, Reserved: Resources{mem, cpu}}
				d := Decide(s, p, t0)
				if d.Add < 0 || nodes+d.Add > p.Max {
					t.Fatalf("%+v -> %+v", s, d)
				}
				if d.Add > 0 && nodes+d.Add < p.Max {
					after := int64(nodes + d.Add)
					if float64(mem) >= 0.8*float64(after*4*gi) || float64(cpu) >= 0.8*float64(after*2e9) {
						t.Fatalf("%+v -> %+v leaves it over the threshold", s, d)
					}
				}
			}
		}
	}
}

func FuzzDecide(f *testing.F) {
	f.Add(3, 0, int64(10*gi), int64(3e9), int64(2*gi), int64(60), 10)
	f.Fuzz(func(t *testing.T, nodes, creating int, mem, cpu, pending, since int64, maxNodes int) {
		s := State{Nodes: nodes, Creating: creating, NodeCapacity: node, Reserved: Resources{mem, cpu},
			LastScaleUp: t0.Add(-time.Duration(since) * time.Second)}
		if pending > 0 {
			s.Pending = []Resources{{pending, 0}}
		}
		d := Decide(s, Policy{Enabled: true, Max: maxNodes}, t0)
		if d.Add < 0 || (maxNodes > 0 && d.Add > 0 && nodes+d.Add > maxNodes) {
			t.Fatalf("%+v -> %+v", s, d)
		}
	})
}
