// Package swarmfake is a hand-written fake of Docker Swarm across several
// engines, for the unit tests of swarm formation and of the cluster
// controller. It keeps only what formation reads: membership, roles,
// join tokens and the calls made. It is safe for concurrent use (two
// controllers racing is one of the things it is used to test).
package swarmfake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/vela-appliance/vela/cluster/swarm"
)

// World is the set of fake engines that can form swarms with each other.
type World struct {
	mu     sync.Mutex
	all    []*Engine
	nextID int
	tokens map[string]string // token -> "clusterID/role"
	calls  []string
	// BeforeInit, when set, runs (without the world's lock) before an
	// Init takes effect: a test interleaves another actor there.
	BeforeInit func(name string)
	// leaderless: the swarms are electing a leader; calls only a leader
	// answers (Inspect, Nodes) fail as a real engine's do.
	leaderless bool
}

// errNoLeader is what a manager answers while its swarm has no leader.
var errNoLeader = errors.New("rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.")

// SetLeaderless makes every swarm lack a leader (a manager was lost and
// the rest are electing one), or have one again.
func (w *World) SetLeaderless(on bool) { w.mu.Lock(); w.leaderless = on; w.mu.Unlock() }

// Engine is one node's fake Docker engine.
type Engine struct {
	w       *World
	Name    string
	cluster string
	addr    string // advertised at init or join
	state   string // inactive, pending, active
	manager bool
	down    bool
	id      int               // bumped at each join: a rejoined node is a new Swarm node
	labels  map[string]string // the node's Swarm labels, as its managers hold them
}

// Engine adds an engine that is in no swarm.
func (w *World) Engine(name string) *Engine {
	w.mu.Lock()
	defer w.mu.Unlock()
	e := &Engine{w: w, Name: name, state: "inactive"}
	w.all = append(w.all, e)
	return e
}

// Calls returns the changes made so far ("init a", "join b manager=true",
// "leave c") and forgets them.
func (w *World) Calls() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.calls
	w.calls = nil
	return c
}

// Swarms returns, per swarm ID, the names of its members.
func (w *World) Swarms() map[string][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string][]string{}
	for _, e := range w.all {
		if e.cluster != "" {
			out[e.cluster] = append(out[e.cluster], e.Name)
		}
	}
	return out
}

// SetDown makes the engine refuse connections (or answer again).
func (e *Engine) SetDown(down bool) { e.w.mu.Lock(); e.down = down; e.w.mu.Unlock() }

// SetState forces the engine's local swarm state (e.g. "pending": a join
// that never completed).
func (e *Engine) SetState(s string) { e.w.mu.Lock(); e.state = s; e.w.mu.Unlock() }

// Info reports membership as a real engine does: only managers tell the
// cluster ID; every member lists the managers it knows.
func (e *Engine) Info(context.Context) (swarm.Info, error) {
	e.w.mu.Lock()
	defer e.w.mu.Unlock()
	if e.down {
		return swarm.Info{}, errors.New("connection refused")
	}
	i := swarm.Info{Name: e.Name}
	i.Swarm.LocalNodeState, i.Swarm.ControlAvailable = e.state, e.manager
	if e.cluster != "" && e.manager {
		i.Swarm.Cluster = &struct {
			ID string `json:"ID"`
		}{e.cluster}
	}
	for _, o := range e.w.all {
		if e.cluster != "" && o.cluster == e.cluster && o.manager {
			i.Swarm.RemoteManagers = append(i.Swarm.RemoteManagers, struct {
				NodeID string `json:"NodeID"`
				Addr   string `json:"Addr"`
			}{o.nodeID(), o.addr + ":2377"})
		}
	}
	return i, nil
}

// Init makes the engine the first manager of a new swarm.
func (e *Engine) Init(_ context.Context, r swarm.InitRequest) (string, error) {
	if h := e.w.BeforeInit; h != nil {
		h(e.Name)
	}
	e.w.mu.Lock()
	defer e.w.mu.Unlock()
	if e.down {
		return "", errors.New("connection refused")
	}
	if e.state == "active" && r.ForceNewCluster && e.manager {
		// The survivor keeps the swarm (same ID, services, its own node);
		// the others are no longer members until they join again.
		for _, o := range e.w.all {
			if o != e && o.cluster == e.cluster {
				o.labels = nil
			}
		}
		e.w.calls = append(e.w.calls, "force-new-cluster "+e.Name)
		return e.nodeID(), nil
	}
	if e.state == "active" {
		return "", errors.New("This node is already part of a swarm")
	}
	e.addr = r.AdvertiseAddr
	e.w.nextID++
	e.cluster, e.state, e.manager = fmt.Sprintf("cluster%02d-0123456789", e.w.nextID), "active", true
	if e.w.tokens == nil {
		e.w.tokens = map[string]string{}
	}
	e.w.tokens["SWMTKN-m-"+e.cluster] = e.cluster + "/manager"
	e.w.tokens["SWMTKN-w-"+e.cluster] = e.cluster + "/worker"
	e.w.calls = append(e.w.calls, "init "+e.Name)
	return e.nodeID(), nil
}

func (e *Engine) nodeID() string { return fmt.Sprintf("node-%s-%d", e.Name, e.id) }

// Inspect returns the swarm with its join tokens (managers only).
func (e *Engine) Inspect(context.Context) (swarm.Swarm, error) {
	e.w.mu.Lock()
	defer e.w.mu.Unlock()
	if !e.manager {
		return swarm.Swarm{}, errors.New("not a manager")
	}
	if e.w.leaderless {
		return swarm.Swarm{}, errNoLeader
	}
	var s swarm.Swarm
	s.ID = e.cluster
	s.JoinTokens.Manager, s.JoinTokens.Worker = "SWMTKN-m-"+e.cluster, "SWMTKN-w-"+e.cluster
	return s, nil
}

// Join joins the swarm a token belongs to, in the token's role.
func (e *Engine) Join(_ context.Context, r swarm.JoinRequest) error {
	e.w.mu.Lock()
	defer e.w.mu.Unlock()
	if e.state == "active" {
		return errors.New("This node is already part of a swarm")
	}
	v, ok := e.w.tokens[r.JoinToken]
	if !ok {
		return errors.New("invalid join token")
	}
	cluster, role, _ := strings.Cut(v, "/")
	e.cluster, e.state, e.manager, e.addr = cluster, "active", role == "manager", r.AdvertiseAddr
	e.id++
	e.labels = nil
	e.w.calls = append(e.w.calls, fmt.Sprintf("join %s manager=%v", e.Name, e.manager))
	return nil
}

// Leave leaves the swarm.
func (e *Engine) Leave(_ context.Context, force bool) error {
	e.w.mu.Lock()
	defer e.w.mu.Unlock()
	e.cluster, e.state, e.manager = "", "inactive", false
	e.w.calls = append(e.w.calls, "leave "+e.Name)
	return nil
}

// Nodes lists the members of the engine's swarm (managers only): ready,
// or down (unreachable) when their engine is down.
func (e *Engine) Nodes(context.Context) ([]swarm.Node, error) {
	e.w.mu.Lock()
	defer e.w.mu.Unlock()
	if !e.manager {
		return nil, errors.New("not a manager")
	}
	if e.w.leaderless {
		return nil, errNoLeader
	}
	var out []swarm.Node
	for _, o := range e.w.all {
		if o.cluster != e.cluster {
			continue
		}
		var n swarm.Node
		n.ID, n.Status.State, n.Status.Addr, n.Spec.Availability, n.Spec.Labels = o.nodeID(), "ready", o.addr, "active", o.labels
		reach := "reachable"
		if o.down {
			n.Status.State, reach = "down", "unreachable"
		}
		if o.manager {
			n.ManagerStatus = &struct {
				Leader       bool   `json:"Leader"`
				Reachability string `json:"Reachability"`
				Addr         string `json:"Addr"`
			}{Reachability: reach, Addr: o.addr + ":2377"}
		}
		out = append(out, n)
	}
	return out, nil
}

// RemoveNode is accepted and does nothing.
func (e *Engine) RemoveNode(context.Context, string, bool) error { return nil }

// SetAvailability is accepted and does nothing.
func (e *Engine) SetAvailability(context.Context, string, string) error { return nil }

// SetRole is accepted and does nothing.
func (e *Engine) SetRole(context.Context, string, string) error { return nil }

// Tasks returns none.
func (e *Engine) Tasks(context.Context) ([]swarm.Task, error) { return nil, nil }

// ContainerLimits returns none.
func (e *Engine) ContainerLimits(context.Context) ([]swarm.Limits, error) { return nil, nil }

// SetLabels sets the labels of the node with that ID (managers only).
func (e *Engine) SetLabels(_ context.Context, id string, labels map[string]string) error {
	e.w.mu.Lock()
	defer e.w.mu.Unlock()
	if !e.manager {
		return errors.New("not a manager")
	}
	for _, o := range e.w.all {
		if o.cluster == e.cluster && o.nodeID() == id {
			o.labels = labels
			return nil
		}
	}
	return fmt.Errorf("node %s not found", id)
}

// Labels returns the engine's Swarm labels.
func (e *Engine) Labels() map[string]string {
	e.w.mu.Lock()
	defer e.w.mu.Unlock()
	return e.labels
}
