package controller

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vela-appliance/vela/cluster/fsm"
)

// staleJoin is how long a node may stay "pending" in its Swarm join before
// the controller makes it leave and join again (a manager's join on an
// emulated or loaded machine takes longer than the call that asked it).
const staleJoin = 2 * time.Minute

// pendingFor returns how long the node has been seen pending (0 when not).
func (c *Controller) pendingFor(name string, pending bool) time.Duration {
	if !pending {
		delete(c.pending, name)
		return 0
	}
	now := c.cfg.Now()
	since, ok := c.pending[name]
	if !ok {
		c.pending[name] = now
		return 0
	}
	return now.Sub(since)
}

// chooseInit returns the node a new cluster's Swarm is to be initialised
// on, recorded in the replicated state before any init: a controller on a
// new leader (while the old one's is still stopping) then inits the same
// node or joins its swarm, never a second swarm. It returns "" once the
// cluster has a swarm (a rebuild recovers from a survivor), and a status
// to report instead when it must wait.
func (c *Controller) chooseInit(ctx context.Context, cl fsm.Cluster, live []fsm.Node, up []*member, st *status) (string, *status) {
	if cl.SwarmID != "" {
		return "", nil
	}
	if cl.SwarmInit != "" && slices.ContainsFunc(live, func(n fsm.Node) bool { return n.Name == cl.SwarmInit }) {
		if !slices.ContainsFunc(up, func(m *member) bool { return m.node.Name == cl.SwarmInit }) {
			return "", c.soft(cl, st, fmt.Sprintf("node %s, chosen to start the Swarm, does not answer", cl.SwarmInit),
				fmt.Sprintf("wait for it; if its hypervisor is lost, replace it: `vela cluster resize %s --nodes %d --remove %s`", cl.Name, cl.Nodes, cl.SwarmInit))
		}
		return cl.SwarmInit, nil
	}
	pick := up[0].node.Name
	for _, m := range up[1:] {
		pick = min(pick, m.node.Name)
	}
	rec := st.ClusterStatus
	rec.SwarmInit = pick
	if err := c.propose(ctx, fsm.TypeClusterStatus, fsm.SetClusterStatus{Meta: c.meta(), Key: cl.Key(), Generation: cl.Generation,
		State: c.progress(cl), Status: rec, SwarmInitWas: cl.SwarmInit}); err != nil {
		return "", c.soft(cl, st, fmt.Sprintf("recording node %s as the one to start the Swarm: %v", pick, err), "")
	}
	st.SwarmInit = pick
	c.log.Info("swarm init node chosen", "cluster", cl.Key(), "node", pick)
	return pick, nil
}
