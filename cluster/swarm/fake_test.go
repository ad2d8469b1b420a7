package swarm

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// world is a hand-written fake of Docker Swarm across several engines.
type world struct {
	all    []*fakeEngine
	nextID int
	tokens map[string]string // token -> "clusterID/role"
	calls  []string
}

type fakeEngine struct {
	w       *world
	name    string
	cluster string
	addr    string // advertised at init or join
	state   string // inactive, pending, active
	manager bool
	down    bool
}

func (w *world) engine(name string) *fakeEngine {
	e := &fakeEngine{w: w, name: name, state: "inactive"}
	w.all = append(w.all, e)
	return e
}

func (e *fakeEngine) Info(context.Context) (Info, error) {
	if e.down {
		return Info{}, errors.New("connection refused")
	}
	i := Info{Name: e.name}
	i.Swarm.LocalNodeState, i.Swarm.ControlAvailable = e.state, e.manager
	// As a real engine: only managers tell the cluster ID; every member
	// lists the managers it knows.
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
			}{"node-" + o.name, o.addr + ":2377"})
		}
	}
	return i, nil
}

func (e *fakeEngine) Init(_ context.Context, r InitRequest) (string, error) {
	if e.state == "active" {
		return "", errors.New("already part of a swarm")
	}
	e.addr = r.AdvertiseAddr
	e.w.nextID++
	e.cluster, e.state, e.manager = fmt.Sprintf("cluster%02d-0123456789", e.w.nextID), "active", true
	if e.w.tokens == nil {
		e.w.tokens = map[string]string{}
	}
	e.w.tokens["SWMTKN-m-"+e.cluster] = e.cluster + "/manager"
	e.w.tokens["SWMTKN-w-"+e.cluster] = e.cluster + "/worker"
	e.w.calls = append(e.w.calls, "init "+e.name)
	return "node-" + e.name, nil
}

func (e *fakeEngine) Inspect(context.Context) (Swarm, error) {
	if !e.manager {
		return Swarm{}, errors.New("not a manager")
	}
	var s Swarm
	s.ID = e.cluster
	s.JoinTokens.Manager, s.JoinTokens.Worker = "SWMTKN-m-"+e.cluster, "SWMTKN-w-"+e.cluster
	return s, nil
}

func (e *fakeEngine) Join(_ context.Context, r JoinRequest) error {
	if e.state == "active" {
		return errors.New("already part of a swarm")
	}
	v, ok := e.w.tokens[r.JoinToken]
	if !ok {
		return errors.New("invalid join token")
	}
	cluster, role, _ := strings.Cut(v, "/")
	e.cluster, e.state, e.manager, e.addr = cluster, "active", role == "manager", r.AdvertiseAddr
	e.w.calls = append(e.w.calls, fmt.Sprintf("join %s manager=%v", e.name, e.manager))
	return nil
}

func (e *fakeEngine) Leave(_ context.Context, force bool) error {
	e.cluster, e.state, e.manager = "", "inactive", false
	e.w.calls = append(e.w.calls, "leave "+e.name)
	return nil
}

func (e *fakeEngine) Nodes(context.Context) ([]Node, error)          { return nil, nil }
func (e *fakeEngine) RemoveNode(context.Context, string, bool) error { return nil }
