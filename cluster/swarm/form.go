package swarm

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
)

// Member is one node of a cluster as Form sees it.
type Member struct {
	Name   string
	Addr   string // the node's IPv4, advertised for swarm traffic
	Engine Engine
	// Init marks the member to initialise the swarm on when no member is
	// in one (the first member when none is marked).
	Init bool
	// StalePending says the member has been "pending" (a join that has not
	// completed) long enough to be given up: Form makes it leave and join
	// again. A member pending for less is left alone: on a slow machine a
	// manager's join takes longer than the call that asked for it, and
	// forcing it out then would cost the swarm a manager.
	StalePending bool
}

// Result says what the swarm looks like after Form.
type Result struct {
	ClusterID string
	Managers  []string // member names
	Workers   []string
	Changed   []string // what Form did, for events ("init on web-1", "web-2 joined as manager")
	Joining   []string // members whose join is still under way (pending)
}

// Swarm ports.
const ManagerPort = "2377"

// ManagersFor returns how many managers a swarm of n nodes gets: an odd
// count, so a minority of managers can be lost without losing the swarm.
func ManagersFor(n int) int {
	switch {
	case n >= 7:
		return 5
	case n >= 3:
		return 3
	default:
		return 1
	}
}

// Form brings the members into one swarm. It is idempotent: members already
// in the swarm are left alone; it only initialises when no member is in a
// swarm, and joins the others as managers until ManagersFor(len) are
// reached, then as workers. A member in another swarm is an error.
func Form(ctx context.Context, members []Member) (Result, error) {
	if len(members) == 0 {
		return Result{}, fmt.Errorf("no nodes to form a swarm from")
	}
	infos := make([]Info, len(members))
	for i, m := range members {
		info, err := m.Engine.Info(ctx)
		if err != nil {
			return Result{}, fmt.Errorf("node %s: Docker engine does not answer: %w; check that the node runs", m.Name, err)
		}
		infos[i] = info
	}
	var res Result
	clusterID, err := existingSwarm(members, infos)
	if err != nil {
		return Result{}, err
	}
	if clusterID == "" {
		i := max(0, slices.IndexFunc(members, func(m Member) bool { return m.Init }))
		first := members[i]
		_, initErr := first.Engine.Init(ctx, InitRequest{ListenAddr: "0.0.0.0:" + ManagerPort, AdvertiseAddr: first.Addr})
		// Another controller (an old leader's, still stopping) may have
		// inited the same node a moment ago: its swarm is the one.
		if infos[i], err = first.Engine.Info(ctx); err != nil {
			return Result{}, fmt.Errorf("node %s: %w", first.Name, err)
		}
		clusterID = infos[i].Swarm.ClusterID()
		switch {
		case clusterID == "" && initErr != nil:
			return Result{}, fmt.Errorf("node %s: swarm init failed: %w", first.Name, initErr)
		case clusterID == "":
			return Result{}, fmt.Errorf("node %s: swarm init succeeded but the node reports no swarm", first.Name)
		case initErr == nil:
			res.Changed = append(res.Changed, "swarm initialised on "+first.Name)
		}
	}
	res.ClusterID = clusterID

	leader := -1
	var managerAddrs []string
	for i, info := range infos {
		if info.Swarm.ClusterID() == clusterID && info.Swarm.ControlAvailable {
			managerAddrs = append(managerAddrs, members[i].Addr)
			if leader < 0 {
				leader = i
			}
		}
	}
	if leader < 0 {
		return Result{}, fmt.Errorf("swarm %s has no reachable manager among the nodes; rebuild the cluster", short(clusterID))
	}
	var joiners []int
	for i, m := range members {
		info := infos[i]
		switch {
		case info.Swarm.ClusterID() == clusterID && info.Swarm.LocalNodeState == "active":
		case info.Swarm.WorkerOf(managerAddrs): // a worker already in this swarm (its info has no cluster ID)
		case info.Swarm.LocalNodeState == "pending" && !m.StalePending:
			res.Joining = append(res.Joining, m.Name)
		default:
			joiners = append(joiners, i)
		}
	}
	if len(joiners) > 0 {
		// Join tokens only when someone joins: while the swarm elects a
		// new leader (a manager was lost) every manager call fails, and a
		// swarm with all its nodes must not look broken for that.
		if err := join(ctx, members, infos, joiners, leader, len(managerAddrs), &res); err != nil {
			return res, err
		}
	}
	for i, m := range members {
		if infos[i].Swarm.ControlAvailable {
			res.Managers = append(res.Managers, m.Name)
		} else {
			res.Workers = append(res.Workers, m.Name)
		}
	}
	return res, nil
}

// join joins members[joiners] to the swarm whose reachable manager is
// members[leader], as managers until ManagersFor(len(members)), then as
// workers; it updates infos and res as it goes.
func join(ctx context.Context, members []Member, infos []Info, joiners []int, leader, managers int, res *Result) error {
	sw, err := members[leader].Engine.Inspect(ctx)
	if err != nil {
		return fmt.Errorf("node %s: reading join tokens: %w", members[leader].Name, err)
	}
	remote := net.JoinHostPort(members[leader].Addr, ManagerPort)
	want := ManagersFor(len(members))
	for _, i := range joiners {
		m := members[i]
		if st := infos[i].Swarm.LocalNodeState; st == "pending" || st == "error" {
			// A join that never completed: start it again cleanly.
			if err := m.Engine.Leave(ctx, true); err != nil {
				return fmt.Errorf("node %s: leaving a half-joined swarm: %w", m.Name, err)
			}
		}
		token, role := sw.JoinTokens.Worker, "worker"
		if managers < want {
			token, role = sw.JoinTokens.Manager, "manager"
		}
		err := m.Engine.Join(ctx, JoinRequest{ListenAddr: "0.0.0.0:" + ManagerPort, AdvertiseAddr: m.Addr,
			RemoteAddrs: []string{remote}, JoinToken: token})
		if err != nil {
			return fmt.Errorf("node %s: joining swarm %s as %s via %s: %w", m.Name, short(sw.ID), role, remote, err)
		}
		if role == "manager" {
			managers++
			infos[i].Swarm.ControlAvailable = true
		}
		infos[i].Swarm.LocalNodeState = "active"
		res.Changed = append(res.Changed, fmt.Sprintf("%s joined as %s", m.Name, role))
	}
	return nil
}

// existingSwarm returns the ID of the one swarm the members are in, "" when
// none is, and an error when they are in several.
func existingSwarm(members []Member, infos []Info) (string, error) {
	by := map[string][]string{}
	for i, info := range infos {
		if id := info.Swarm.ClusterID(); id != "" && info.Swarm.LocalNodeState == "active" {
			by[id] = append(by[id], members[i].Name)
		}
	}
	if len(by) <= 1 {
		for id := range by {
			return id, nil
		}
		return "", nil
	}
	var parts []string
	for id, names := range by {
		parts = append(parts, fmt.Sprintf("%s (%s)", short(id), strings.Join(names, ", ")))
	}
	sort.Strings(parts)
	return "", fmt.Errorf("the nodes are in different swarms: %s; rebuild the cluster to bring them into one", strings.Join(parts, "; "))
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
