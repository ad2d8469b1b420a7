package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vela-appliance/vela/cluster/autoscale"
	"github.com/vela-appliance/vela/cluster/fsm"
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
	d := autoscale.Decide(autoscale.State{Nodes: len(live), NodeCapacity: autoscale.Resources{Memory: nodeSize.Memory, NanoCPU: int64(nodeSize.CPUs) * 1e9},
		Reserved: u.Reserved, Pending: u.Pending, LastScaleUp: cl.Autoscale.LastScaleUp}, pol, now)
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
			return
		}
		c.log.Info("autoscale: growing", "cluster", cl.Key(), "add", d.Add, "reason", d.Reason)
		c.Notify(0)
	case d.Blocked:
		st.Reason = autoscaleNote + d.Reason
		st.NextStep = fmt.Sprintf("raise the limit (`vela quotas set %s --max-nodes-per-cluster N` or `vela cluster autoscale %s on --max N`), or lower the services' reservations", cl.Tenant, cl.Name)
	}
}
