package fsm

import (
	"encoding/json"
	"fmt"
	"time"
)

// SetNodeStatus is the body of TypeNodeStatus: a hypervisor's agent reports
// the state of one of its nodes. Apply changes only State and Reason (never
// the desired fields the controller may be changing at the same time), and
// only while the node is still placed on Hypervisor.
type SetNodeStatus struct {
	Meta
	Name       string `json:"name"`
	Hypervisor string `json:"hypervisor"`
	State      string `json:"state"`
	Reason     string `json:"reason,omitempty"`
}

// Hypervisor report operations (HypervisorReport.Op).
const (
	HVRegister  = "register"  // capacity, versions, address; State kept if draining, else ready
	HVHeartbeat = "heartbeat" // usage only
	HVDrain     = "drain"     // State draining
	HVUndrain   = "undrain"   // State ready
)

// HypervisorReport is the body of TypeHypervisorReport. Register and
// heartbeat stamp LastSeen with the proposer's time (Meta.Time); each
// operation changes only its own fields, so a heartbeat never undoes a
// concurrent drain. Heartbeats record no event (they would flood the log).
type HypervisorReport struct {
	Meta
	Op     string     `json:"op"`
	Object Hypervisor `json:"object"` // register: all reported fields; heartbeat: Name and Usage; drain/undrain: Name
}

func applyNodeStatus(s *State, index uint64, body []byte) (any, *Event, error) {
	var c SetNodeStatus
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, nil, fmt.Errorf("decode node status at index %d: %w", index, err)
	}
	n, ok := s.Nodes[c.Name]
	if !ok {
		return nil, nil, fmt.Errorf("node %q: %w", c.Name, ErrNotFound)
	}
	if n.Hypervisor != c.Hypervisor {
		return nil, nil, fmt.Errorf("node %q is placed on hypervisor %q, not %q: %w", c.Name, n.Hypervisor, c.Hypervisor, ErrConflict)
	}
	var ev *Event
	if n.State != c.State {
		ev = &Event{Time: c.Time, Actor: c.Actor, Kind: "node", Action: c.State, Object: c.Name}
	}
	n.State, n.Reason, n.ModifyIndex = c.State, c.Reason, index
	s.Nodes[c.Name] = n
	return n, ev, nil
}

func applyHypervisorReport(s *State, index uint64, body []byte) (any, *Event, error) {
	var c HypervisorReport
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, nil, fmt.Errorf("decode hypervisor report at index %d: %w", index, err)
	}
	name := c.Object.Name
	if name == "" {
		return nil, nil, fmt.Errorf("hypervisor report has an empty name: %w", ErrConflict)
	}
	old, exists := s.Hypervisors[name]
	if !exists && c.Op != HVRegister {
		return nil, nil, fmt.Errorf("hypervisor %q is not registered (its agent registers first): %w", name, ErrNotFound)
	}
	h := old
	ev := &Event{Time: c.Time, Actor: c.Actor, Kind: "hypervisor", Action: c.Op, Object: name}
	switch c.Op {
	case HVRegister:
		h = c.Object
		h.Usage = old.Usage
		h.State = HypervisorReady
		if old.State == HypervisorDraining {
			h.State = HypervisorDraining
		}
		h.LastSeen = c.Time
	case HVHeartbeat:
		h.Usage, h.LastSeen, ev = c.Object.Usage, c.Time, nil
	case HVDrain:
		h.State = HypervisorDraining
	case HVUndrain:
		h.State = HypervisorReady
	default:
		return nil, nil, fmt.Errorf("hypervisor %q: unknown report operation %q: %w", name, c.Op, ErrConflict)
	}
	h.ModifyIndex = index
	s.Hypervisors[name] = h
	return h, ev, nil
}

// DefaultHeartbeatInterval is how often agents heartbeat unless configured
// otherwise (vela agent --interval; the API's HeartbeatInterval).
const DefaultHeartbeatInterval = 10 * time.Second

// UnreachableAfter is how many heartbeat intervals without a heartbeat make
// a hypervisor unreachable.
const UnreachableAfter = 3

// Unreachable tells whether h has not been heard from for UnreachableAfter
// heartbeat intervals at time now (readers decide; Apply never does).
func (h Hypervisor) Unreachable(now time.Time, interval time.Duration) bool {
	return h.LastSeen.IsZero() || now.Sub(h.LastSeen) > UnreachableAfter*interval
}
