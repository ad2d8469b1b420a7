package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vela-appliance/vela/cluster/autoscale"
	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/scheduler"
)

// autoscaleNote starts the reason of an active cluster whose growth the
// autoscaler wanted but could not do.
const autoscaleNote = "autoscale: "

// policyOf turns a cluster's stored policy into autoscale's, capped by the
// tenant's quota.
func policyOf(p *fsm.AutoscalePolicy, quota fsm.Quota, interval time.Duration) autoscale.Policy {
	out := autoscale.Policy{Enabled: p != nil && p.Enabled, Interval: interval, Max: quota.MaxNodesPerCluster}
	if p == nil {
		return out
	}
	out.Threshold = p.Threshold
	out.Cooldown = time.Duration(p.CooldownSeconds) * time.Second
	if p.Max > 0 && (out.Max == 0 || p.Max < out.Max) {
		out.Max = p.Max
	}
	return out.WithDefaults()
}

// autoscale evaluates an active, autoscaled cluster every policy interval:
// it measures what the tenant's workloads reserve and grows the cluster
// (never shrinks it) when autoscale.Decide says so. A growth the quota
// blocks shows in the status's reason and next step.
func (c *Controller) autoscale(ctx context.Context, snap snapshot, cl fsm.Cluster, live []fsm.Node, st *status) {
	if cl.Autoscale == nil || !cl.Autoscale.Enabled || st.State != fsm.ClusterActive {
		return
	}
	pol := policyOf(cl.Autoscale, snap.tenants[cl.Tenant].Quota, c.cfg.AutoscaleInterval)
	now := c.cfg.Now()
	c.mu.Lock()
	last := c.evaluated[cl.Key()]
	if now.Sub(last) < pol.Interval {
		c.mu.Unlock()
		if strings.HasPrefix(cl.Reason, autoscaleNote) { // keep the last verdict until the next evaluation
			st.Reason, st.NextStep = cl.Reason, cl.NextStep
		}
		return
	}
	c.evaluated[cl.Key()] = now
	c.mu.Unlock()

	var mgr Engine
	var nodes []autoscale.Node
	for _, n := range live {
		e, err := c.cfg.Engines(cl, n)
		if err != nil {
			continue
		}
		nodes = append(nodes, e)
		for _, m := range st.Managers {
			if m == n.Name && mgr == nil {
				mgr = e
			}
		}
	}
	if mgr == nil {
		return
	}
	u, err := autoscale.Measure(ctx, mgr, nodes)
	if err != nil {
		c.log.Warn("autoscale: measure", "cluster", cl.Key(), "err", err)
		return
	}
	room, detail := c.room(snap, cl, max(1, pol.Max-len(live)), now)
	c.log.Debug("autoscale: measured", "cluster", cl.Key(), "reserved", u.Reserved, "pending", len(u.Pending))
	d := autoscale.Decide(autoscale.State{Nodes: len(live), NodeCapacity: autoscale.Resources{Memory: nodeSize.Memory, NanoCPU: int64(nodeSize.CPUs) * 1e9},
		Reserved: u.Reserved, Pending: u.Pending, LastScaleUp: cl.Autoscale.LastScaleUp, Room: room, RoomKnown: true, RoomDetail: detail}, pol, now)
	switch {
	case d.Add > 0:
		next := cl
		a := *cl.Autoscale
		a.LastScaleUp, a.LastDecision = now.UTC(), d.Reason
		next.Autoscale = &a
		next.Nodes += d.Add
		next.Generation++
		next.State, next.Remove = fsm.ClusterGrowing, nil
		if err := c.propose(ctx, fsm.TypeClusterUpsert, fsm.Upsert[fsm.Cluster]{Meta: c.meta(), Object: next}); err != nil {
			c.log.Warn("autoscale: grow", "cluster", cl.Key(), "err", err)
			if errors.Is(err, fsm.ErrQuota) { // the quota was lowered since the snapshot
				c.note(ctx, cl, d.Reason+"; refused: "+err.Error(), true)
			}
			return
		}
		c.log.Info("autoscale: growing", "cluster", cl.Key(), "add", d.Add, "reason", d.Reason)
		c.note(ctx, cl, d.Reason, false)
		c.Notify(0)
	case d.Blocked:
		st.Reason = autoscaleNote + d.Reason
		switch d.Block {
		case autoscale.BlockRoom:
			st.NextStep = "ask the operator to add a hypervisor or free capacity (`vela hypervisors ls`), or lower the services' reservations"
		case autoscale.BlockTooLarge:
			st.NextStep = "lower the pending service's reservations to fit a node (4 GiB, 2 CPUs)"
		default:
			st.NextStep = fmt.Sprintf("raise the limit (`vela quotas set %s --max-nodes-per-cluster N` or `vela cluster autoscale %s on --max N`), or lower the services' reservations", cl.Tenant, cl.Name)
		}
		c.note(ctx, cl, d.Reason, true)
	case cl.Autoscale.LastNote != "":
		c.note(ctx, cl, "", false) // the verdict went away: the same one, back later, is news again
	}
}

// note records the verdict as an event (fsm.TypeAutoscaleNote). An unchanged
// blocked verdict is not proposed again (and the FSM would not record it
// again either); msg "" clears the last verdict.
func (c *Controller) note(ctx context.Context, cl fsm.Cluster, msg string, blocked bool) {
	if blocked && msg == cl.Autoscale.LastNote {
		return
	}
	// Ignorable: a member older than the type skips it (losing only the event)
	// rather than stopping during a rolling upgrade.
	if err := c.propose(ctx, fsm.TypeAutoscaleNote|fsm.IgnoreUnknown, fsm.AutoscaleNote{Meta: c.meta(), Key: cl.Key(), Message: msg, Blocked: blocked}); err != nil {
		c.log.Warn("autoscale: record the verdict", "cluster", cl.Key(), "err", err)
	}
}

// room asks the scheduler how many of up to n more nodes of cl the ready
// hypervisors can hold now, with the figures when not all of them.
func (c *Controller) room(snap snapshot, cl fsm.Cluster, n int, now time.Time) (int, string) {
	all := make([]fsm.Node, 0, len(snap.nodes))
	for _, nd := range snap.nodes {
		all = append(all, nd)
	}
	_, err := scheduler.Place(schedulerView(snap.hypervisors, all, now, c.cfg.HeartbeatInterval), scheduler.Request{Cluster: cl.Key(), Nodes: n, Size: nodeSize})
	var nc *scheduler.NoCapacityError
	switch {
	case err == nil:
		return n, ""
	case errors.As(err, &nc) && nc.Ready > 0:
		return nc.Possible, fmt.Sprintf("largest free: %.1f GiB, %d vCPUs on %s", float64(nc.BestFree.Memory)/(1<<30), nc.BestFree.CPUs, nc.Best)
	case errors.As(err, &nc):
		return 0, "no hypervisor is ready"
	}
	return 0, err.Error()
}
