package controller

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/swarm"
)

// member is a live node with its engine and what it said last.
type member struct {
	node fsm.Node
	ip   string
	eng  Engine
	info swarm.Info
	err  error
}

// infoTimeout bounds the first call to each node in a pass, so a dead
// node costs seconds, not the whole engine timeout.
const infoTimeout = 5 * time.Second

// members asks every node's engine for its info, in parallel.
func (c *Controller) members(ctx context.Context, cl fsm.Cluster, live []fsm.Node) []*member {
	out := make([]*member, len(live))
	var wg sync.WaitGroup
	for i, n := range live {
		m := &member{node: n}
		out[i] = m
		if ip, _, err := net.ParseCIDR(n.Address); err == nil {
			m.ip = ip.String()
		}
		m.eng, m.err = c.cfg.Engines(cl, n)
		if m.err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ictx, cancel := context.WithTimeout(ctx, infoTimeout)
			defer cancel()
			m.info, m.err = m.eng.Info(ictx)
		}()
	}
	wg.Wait()
	return out
}

// swarmAddr is the IP a swarm node advertises (managers' Status.Addr may be
// 0.0.0.0 on some engines; their ManagerStatus.Addr is IP:2377).
func swarmAddr(n swarm.Node) string {
	if n.ManagerStatus != nil && n.ManagerStatus.Addr != "" {
		if h, _, err := net.SplitHostPort(n.ManagerStatus.Addr); err == nil {
			return h
		}
	}
	return n.Status.Addr
}

// formAndCheck brings the reachable nodes into one swarm, prunes nodes
// that vanished and computes health.
func (c *Controller) formAndCheck(ctx context.Context, cl fsm.Cluster, live []fsm.Node, st *status) *status {
	ms := c.members(ctx, cl, live)
	var up []*member
	var down []string
	for _, m := range ms {
		if m.err != nil {
			down = append(down, fmt.Sprintf("%s (%v)", m.node.Name, m.err))
			continue
		}
		up = append(up, m)
	}
	if len(up) == 0 {
		return c.soft(cl, st, "no node's Docker engine answers: "+strings.Join(down, "; "),
			"check the hypervisors with the operator (`vela hypervisors ls`); Vela retries on its own")
	}
	if cl.Rebuild > cl.Rebuilt {
		if err := c.rebuild(ctx, cl, up); err != nil {
			return c.soft(cl, st, "rebuilding the Swarm: "+err.Error(), "Vela retries on its own; if no node kept its Swarm state, remove and recreate the cluster")
		}
		st.Rebuilt = cl.Rebuild
	}
	if cl.SwarmID != "" && cl.Rebuild <= cl.Rebuilt && !slices.ContainsFunc(up, func(m *member) bool { return m.info.Swarm.ClusterID() != "" }) {
		// Never init a second swarm over a known one: its managers may only
		// be restarting. Recovering is an explicit rebuild.
		return c.soft(cl, st, fmt.Sprintf("no reachable node reports being a manager of Swarm %s (managers down or restarting)", short(cl.SwarmID)),
			fmt.Sprintf("wait for the nodes to come back; if the managers are lost, run `vela cluster rebuild %s`", cl.Name))
	}
	init, wait := c.chooseInit(ctx, cl, live, up, st)
	if wait != nil {
		return wait
	}
	sms := make([]swarm.Member, 0, len(up))
	for _, m := range up {
		stale := c.pendingFor(m.node.Name, m.info.Swarm.LocalNodeState == "pending") > staleJoin
		sms = append(sms, swarm.Member{Name: m.node.Name, Addr: m.ip, Engine: m.eng, Init: m.node.Name == init, StalePending: stale})
	}
	res, err := swarm.Form(ctx, sms)
	if err != nil {
		return c.soft(cl, st, "forming the Swarm: "+err.Error(), fmt.Sprintf("Vela retries on its own; if the managers were lost, run `vela cluster rebuild %s`", cl.Name))
	}
	for _, ch := range res.Changed {
		c.log.Info("swarm changed", "cluster", cl.Key(), "change", ch)
	}
	li := slices.IndexFunc(up, func(m *member) bool { return slices.Contains(res.Managers, m.node.Name) })
	if li < 0 {
		return c.failed(st, "the Swarm has no reachable manager", fmt.Sprintf("run `vela cluster rebuild %s`", cl.Name))
	}
	leader := up[li]
	list, err := leader.eng.Nodes(ctx)
	if err != nil {
		st.State, st.Health, st.HealthDetail = fsm.ClusterActive, fsm.HealthUnknown, "cannot list the Swarm's nodes: "+err.Error()
		return st
	}
	list = c.promote(ctx, cl, leader, list, len(live))
	list = c.prune(ctx, cl, leader, list, ms)
	c.restoreLabels(ctx, cl, leader, list)

	byAddr := map[string]swarm.Node{}
	for _, n := range list {
		if old, ok := byAddr[swarmAddr(n)]; !ok || old.Status.State != "ready" {
			byAddr[swarmAddr(n)] = n
		}
	}
	ready, managers, reachable := 0, 0, 0
	var mgrNames, notReady []string
	for _, m := range ms {
		sn, ok := byAddr[m.ip]
		if ok && sn.Status.State == "ready" {
			ready++
		} else {
			notReady = append(notReady, m.node.Name)
		}
		role := "worker"
		if ok && sn.ManagerStatus != nil {
			role = "manager"
			managers++
			if sn.ManagerStatus.Reachability == "reachable" {
				reachable++
				mgrNames = append(mgrNames, m.node.Name)
			}
		}
		if ok && role != m.node.Role {
			n := m.node
			n.Role = role
			if err := c.propose(ctx, fsm.TypeNodeUpsert, fsm.Upsert[fsm.Node]{Meta: c.meta(), Object: n}); err != nil {
				c.log.Warn("record node role", "node", n.Name, "err", err)
			}
		}
	}
	delete(c.strikes, cl.Key())
	st.State, st.Reason, st.NextStep = fsm.ClusterActive, "", ""
	st.SwarmID, st.Managers = res.ClusterID, mgrNames
	st.HealthDetail = fmt.Sprintf("%d/%d nodes ready, %d/%d managers reachable", ready, len(ms), reachable, managers)
	st.Health = fsm.HealthHealthy
	if ready < len(ms) || reachable < managers {
		st.Health = fsm.HealthDegraded
		st.HealthDetail += "; not ready: " + strings.Join(notReady, ", ")
	}
	return st
}

// promote makes workers managers until the swarm has ManagersFor(n) (a
// swarm grown from 2 to 3 nodes would otherwise keep 2 managers).
func (c *Controller) promote(ctx context.Context, cl fsm.Cluster, leader *member, list []swarm.Node, n int) []swarm.Node {
	want, have := swarm.ManagersFor(n), 0
	for _, sn := range list {
		if sn.ManagerStatus != nil {
			have++
		}
	}
	changed := false
	for i := range list {
		if have >= want {
			break
		}
		sn := list[i]
		if sn.ManagerStatus != nil || sn.Status.State != "ready" || sn.Spec.Availability != "active" {
			continue
		}
		if err := leader.eng.SetRole(ctx, sn.ID, "manager"); err != nil {
			c.log.Warn("promote swarm node", "cluster", cl.Key(), "node", sn.Status.Addr, "err", err)
			continue
		}
		c.log.Info("swarm node promoted", "cluster", cl.Key(), "addr", sn.Status.Addr)
		have++
		changed = true
	}
	if !changed {
		return list
	}
	if l, err := leader.eng.Nodes(ctx); err == nil {
		return l
	}
	return list
}

// prune removes from the swarm the nodes that are down and belong to no
// live node record (deleted or replaced nodes).
func (c *Controller) prune(ctx context.Context, cl fsm.Cluster, leader *member, list []swarm.Node, ms []*member) []swarm.Node {
	known, readyAt := map[string]bool{}, map[string]bool{}
	for _, m := range ms {
		known[m.ip] = true
	}
	for _, sn := range list {
		if sn.Status.State == "ready" {
			readyAt[swarmAddr(sn)] = true
		}
	}
	out := list[:0:0]
	for _, sn := range list {
		// Keep what is not down, and a down entry of a live node unless the
		// node rejoined under a new ID (after a rebuild).
		if sn.Status.State != "down" || (known[swarmAddr(sn)] && !readyAt[swarmAddr(sn)]) {
			out = append(out, sn)
			continue
		}
		if sn.ManagerStatus != nil {
			if err := leader.eng.SetRole(ctx, sn.ID, "worker"); err != nil {
				c.log.Warn("demote vanished swarm node", "cluster", cl.Key(), "addr", swarmAddr(sn), "err", err)
			}
		}
		if err := leader.eng.RemoveNode(ctx, sn.ID, true); err != nil {
			c.log.Warn("remove vanished swarm node", "cluster", cl.Key(), "addr", swarmAddr(sn), "err", err)
			out = append(out, sn)
			continue
		}
		c.log.Info("vanished node removed from the swarm", "cluster", cl.Key(), "addr", swarmAddr(sn))
	}
	return out
}

// removeNode takes a node out on explicit request, one step per pass:
// drain, wait for its tasks to move, demote, leave, remove, delete. It
// returns what it waits for ("" when the node is marked deleted).
func (c *Controller) removeNode(ctx context.Context, cl fsm.Cluster, n fsm.Node, live []fsm.Node) (string, error) {
	others := slices.DeleteFunc(slices.Clone(live), func(o fsm.Node) bool { return o.Name == n.Name || slices.Contains(cl.Remove, o.Name) })
	var mgr *member
	for _, m := range c.members(ctx, cl, others) {
		if m.err == nil && m.info.Swarm.ControlAvailable {
			mgr = m
			break
		}
	}
	ip, _, _ := net.ParseCIDR(n.Address)
	if mgr != nil && ip != nil {
		list, err := mgr.eng.Nodes(ctx)
		if err != nil {
			return "", err
		}
		for _, sn := range list {
			if swarmAddr(sn) != ip.String() {
				continue
			}
			if sn.Status.State == "ready" && sn.Spec.Availability != "drain" {
				if err := mgr.eng.SetAvailability(ctx, sn.ID, "drain"); err != nil {
					return "", fmt.Errorf("drain: %w", err)
				}
				return fmt.Sprintf("draining node %s", n.Name), nil
			}
			if sn.Status.State == "ready" {
				tasks, err := mgr.eng.Tasks(ctx)
				if err != nil {
					return "", err
				}
				left := 0
				for _, t := range tasks {
					if t.NodeID == sn.ID && t.Status.State == "running" {
						left++
					}
				}
				if left > 0 {
					return fmt.Sprintf("draining node %s: %d task(s) still running there", n.Name, left), nil
				}
			}
			if sn.ManagerStatus != nil {
				if err := mgr.eng.SetRole(ctx, sn.ID, "worker"); err != nil {
					return "", fmt.Errorf("demote: %w", err)
				}
			}
			if e, err := c.cfg.Engines(cl, n); err == nil {
				_ = e.Leave(ctx, true) // an unreachable node cannot leave; it is removed below
			}
			if err := mgr.eng.RemoveNode(ctx, sn.ID, true); err != nil {
				return "", fmt.Errorf("remove from the swarm: %w", err)
			}
		}
	}
	if err := c.markDeleted(ctx, n); err != nil {
		return "", err
	}
	c.log.Info("node removed on request", "cluster", cl.Key(), "node", n.Name)
	return "", nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
