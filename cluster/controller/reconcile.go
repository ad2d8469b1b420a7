package controller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/vela-appliance/vela/cluster/controller/credentials"
	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/scheduler"
	"github.com/vela-appliance/vela/cluster/swarm"
)

// reconcile moves one cluster a step towards its spec and returns its
// status (nil: the record is gone).
func (c *Controller) reconcile(ctx context.Context, snap snapshot, cl fsm.Cluster) *status {
	nodes := snap.nodesOf(cl)
	if cl.Deleting {
		return c.teardown(ctx, snap, cl, nodes)
	}
	st := c.base(cl)
	// Nodes the agents have removed: forget them.
	nodes = c.finalize(ctx, snap, nodes)

	var live []fsm.Node
	for _, n := range nodes {
		if n.Desired != fsm.NodeDesiredDeleted {
			live = append(live, n)
		}
	}
	// Explicit removals (resize --remove) go first: drain, leave, delete.
	for _, n := range live {
		if slices.Contains(cl.Remove, n.Name) {
			if msg, err := c.removeNode(ctx, cl, n, live); err != nil {
				return c.failed(st, fmt.Sprintf("removing node %s: %v", n.Name, err), "retrying every few seconds; if the node is gone for good, run `vela cluster rebuild "+cl.Name+"`")
			} else if msg != "" {
				st.State, st.Reason = c.progress(cl), msg
				return st
			}
		}
	}
	live = slices.DeleteFunc(live, func(n fsm.Node) bool { return slices.Contains(cl.Remove, n.Name) })

	if missing := cl.Nodes - len(live); missing > 0 {
		added, err := c.place(ctx, snap, cl, live, missing)
		if err != nil {
			var nc *scheduler.NoCapacityError
			if errors.As(err, &nc) {
				return c.failed(st, nc.Reason(), "add a hypervisor or free capacity (remove a cluster, or shrink one with `vela cluster resize`); Vela retries on its own")
			}
			return c.failed(st, err.Error(), "Vela retries on its own; if this persists, ask the operator (see `vela events`)")
		}
		live = append(live, added...)
	}
	// Wait for the agents.
	var waiting []string
	for _, n := range live {
		switch n.State {
		case fsm.NodeRunning:
		case fsm.NodeFailed:
			return c.failed(st, fmt.Sprintf("node %s failed on hypervisor %s: %s", n.Name, n.Hypervisor, orUnknown(n.Reason)),
				fmt.Sprintf("replace it: `vela cluster resize %s --nodes %d --remove %s`, or ask the operator to check hypervisor %s", cl.Name, cl.Nodes, n.Name, n.Hypervisor))
		default:
			waiting = append(waiting, fmt.Sprintf("%s (%s)", n.Name, orDefault(n.State, "placed")))
		}
	}
	if len(waiting) > 0 {
		st.State = c.progress(cl)
		st.Reason = fmt.Sprintf("waiting for %d of %d node(s) to start on their hypervisors: %s", len(waiting), len(live), strings.Join(waiting, ", "))
		st.NextStep = ""
		return st
	}
	st = c.formAndCheck(ctx, cl, live, st)
	c.autoscale(ctx, snap, cl, live, st)
	return st
}

// base starts a status from the recorded one.
func (c *Controller) base(cl fsm.Cluster) *status {
	st := &status{State: cl.State, ClusterStatus: cl.ClusterStatus}
	st.Observed = cl.Generation
	return st
}

// soft reports a failure that may be transient (an engine call that timed
// out, a join that raced, a swarm electing a leader): the cluster keeps its
// state with the reason until it happened maxStrikes passes in a row over
// softGrace, then shows error.
func (c *Controller) soft(cl fsm.Cluster, st *status, reason, next string) *status {
	now := c.cfg.Now()
	s := c.strikes[cl.Key()]
	if s.n == 0 {
		s.since = now
	}
	s.n++
	c.strikes[cl.Key()] = s
	if s.n >= maxStrikes && now.Sub(s.since) >= softGrace {
		return c.failed(st, reason, next)
	}
	if cl.State != fsm.ClusterActive {
		st.State = c.progress(cl)
	}
	st.Reason, st.NextStep = "retrying: "+reason, ""
	return st
}

func (c *Controller) failed(st *status, reason, next string) *status {
	st.State, st.Reason, st.NextStep = fsm.ClusterError, reason, next
	return st
}

// progress is the state of a cluster on its way to active.
func (c *Controller) progress(cl fsm.Cluster) string {
	switch {
	case cl.Deleting:
		return fsm.ClusterDeleting
	case cl.Rebuild > cl.Rebuilt:
		return fsm.ClusterRebuilding
	case cl.SwarmID == "":
		return fsm.ClusterBuilding
	case cl.State == fsm.ClusterResizing || len(cl.Remove) > 0:
		return fsm.ClusterResizing
	}
	return fsm.ClusterGrowing
}

func orUnknown(s string) string { return orDefault(s, "no reason given by the agent") }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// place puts missing nodes on hypervisors: all of them or none.
func (c *Controller) place(ctx context.Context, snap snapshot, cl fsm.Cluster, live []fsm.Node, missing int) ([]fsm.Node, error) {
	all := make([]fsm.Node, 0, len(snap.nodes))
	for _, n := range snap.nodes {
		all = append(all, n)
	}
	now := c.cfg.Now()
	hvs, err := scheduler.Place(schedulerView(snap.hypervisors, all, now, c.cfg.HeartbeatInterval), scheduler.Request{Cluster: cl.Key(), Nodes: missing, Size: nodeSize})
	if err != nil {
		var nc *scheduler.NoCapacityError
		if errors.As(err, &nc) {
			nc.Cluster = cl.Name
		}
		return nil, err
	}
	alloc, err := newAllocator(c.cfg.Pool, snap.subnets, all)
	if err != nil {
		return nil, err
	}
	ca, err := credentials.ParseCA(cl.CACert, cl.CAKey)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cl.Name, err)
	}
	managers := swarm.ManagersFor(cl.Nodes)
	var added []fsm.Node
	for i, hv := range hvs {
		sub, fresh, err := alloc.subnet(cl.Tenant, hv)
		if err != nil {
			return added, err
		}
		if fresh {
			if err := c.propose(ctx, fsm.TypeSubnetUpsert, fsm.Upsert[fsm.Subnet]{Meta: c.meta(), Object: sub}); err != nil {
				return added, fmt.Errorf("allocate subnet %s for tenant %q on %s: %w", sub.Prefix, cl.Tenant, hv, err)
			}
		}
		addr, gw, err := alloc.address(sub)
		if err != nil {
			return added, err
		}
		name := alloc.nodeName(cl, append(live, added...))
		ip, _, _ := net.ParseCIDR(addr)
		cert, key, err := ca.Server(name, ip, now)
		if err != nil {
			return added, err
		}
		role := "worker"
		if len(live)+i < managers {
			role = "manager"
		}
		n := fsm.Node{Name: name, Tenant: cl.Tenant, Cluster: cl.Name, Hypervisor: hv, Address: addr, Gateway: gw,
			MemoryBytes: nodeSize.Memory, VCPUs: nodeSize.CPUs, DiskBytes: nodeSize.Disk, Role: role,
			TLS:     &fsm.NodeTLS{CACert: string(ca.CertPEM()), Cert: string(cert), Key: string(key)},
			Desired: fsm.NodeDesiredRunning, Created: now.UTC()}
		if err := c.propose(ctx, fsm.TypeNodeUpsert, fsm.Upsert[fsm.Node]{Meta: c.meta(), Object: n}); err != nil {
			return added, fmt.Errorf("record node %s: %w", name, err)
		}
		c.log.Info("node placed", "cluster", cl.Key(), "node", name, "hypervisor", hv, "address", addr, "role", role)
		added = append(added, n)
	}
	return added, nil
}

// finalize deletes the records of nodes the agents removed (or whose
// hypervisor is gone) and returns the others.
func (c *Controller) finalize(ctx context.Context, snap snapshot, nodes []fsm.Node) []fsm.Node {
	hvs := map[string]bool{}
	for _, h := range snap.hypervisors {
		hvs[h.Name] = true
	}
	var out []fsm.Node
	for _, n := range nodes {
		if n.Desired == fsm.NodeDesiredDeleted && (n.State == fsm.NodeDeleted || !hvs[n.Hypervisor]) {
			if err := c.propose(ctx, fsm.TypeNodeDelete, fsm.Delete{Meta: c.meta(), Key: n.Name}); err != nil && !errors.Is(err, fsm.ErrNotFound) {
				c.log.Warn("delete node record", "node", n.Name, "err", err)
				out = append(out, n)
				continue
			}
			c.forget(n.Name)
			continue
		}
		out = append(out, n)
	}
	return out
}

// markDeleted asks the agent to remove a node.
func (c *Controller) markDeleted(ctx context.Context, n fsm.Node) error {
	if n.Desired == fsm.NodeDesiredDeleted {
		return nil
	}
	n.Desired = fsm.NodeDesiredDeleted
	return c.propose(ctx, fsm.TypeNodeUpsert, fsm.Upsert[fsm.Node]{Meta: c.meta(), Object: n})
}

// teardown deletes every node, then the cluster record.
func (c *Controller) teardown(ctx context.Context, snap snapshot, cl fsm.Cluster, nodes []fsm.Node) *status {
	st := c.base(cl)
	st.State, st.NextStep = fsm.ClusterDeleting, ""
	for _, n := range nodes {
		if err := c.markDeleted(ctx, n); err != nil {
			return c.failed(st, fmt.Sprintf("deleting node %s: %v", n.Name, err), "Vela retries on its own")
		}
		n.Desired = fsm.NodeDesiredDeleted
	}
	rest := c.finalize(ctx, snap, markAll(nodes))
	if len(rest) > 0 {
		var names []string
		for _, n := range rest {
			names = append(names, fmt.Sprintf("%s on %s", n.Name, n.Hypervisor))
		}
		st.Reason = fmt.Sprintf("waiting for the agents to remove %d node(s): %s", len(rest), strings.Join(names, ", "))
		return st
	}
	if err := c.propose(ctx, fsm.TypeClusterDelete, fsm.Delete{Meta: c.meta(), Key: cl.Key()}); err != nil && !errors.Is(err, fsm.ErrNotFound) {
		return c.failed(st, fmt.Sprintf("deleting the cluster record: %v", err), "Vela retries on its own")
	}
	c.log.Info("cluster deleted", "cluster", cl.Key())
	return nil
}

func markAll(nodes []fsm.Node) []fsm.Node {
	out := slices.Clone(nodes)
	for i := range out {
		out[i].Desired = fsm.NodeDesiredDeleted
	}
	return out
}

// gcSubnets releases subnets that no node record uses any more and returns
// the subnets that remain (what placement in this pass may reuse).
func (c *Controller) gcSubnets(ctx context.Context, snap snapshot) []fsm.Subnet {
	used := map[string]bool{}
	for _, n := range snap.nodes {
		used[n.Tenant+"/"+n.Hypervisor] = true
	}
	var kept []fsm.Subnet
	for _, s := range snap.subnets {
		if !used[s.Key()] {
			err := c.propose(ctx, fsm.TypeSubnetDelete, fsm.Delete{Meta: c.meta(), Key: s.Key()})
			if err == nil || errors.Is(err, fsm.ErrNotFound) {
				c.log.Info("subnet released", "subnet", s.Key(), "prefix", s.Prefix)
				continue
			}
			c.log.Warn("release subnet", "subnet", s.Key(), "err", err)
		}
		kept = append(kept, s)
	}
	return kept
}
