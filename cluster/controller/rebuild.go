package controller

import (
	"context"
	"fmt"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/swarm"
)

// rebuild recovers a swarm that lost its managers: the first node that
// still holds swarm state as a manager re-creates the control layer with
// --force-new-cluster (services, networks and volumes are kept); the other
// nodes leave, and Form joins them back.
func (c *Controller) rebuild(ctx context.Context, cl fsm.Cluster, up []*member) error {
	var survivor *member
	for _, m := range up {
		if m.info.Swarm.ClusterID() != "" && m.info.Swarm.ControlAvailable {
			survivor = m
			break
		}
	}
	if survivor == nil {
		c.log.Info("rebuild: no node kept manager state; forming a new swarm", "cluster", cl.Key())
		for _, m := range up {
			if m.info.Swarm.LocalNodeState != "inactive" {
				_ = m.eng.Leave(ctx, true)
			}
		}
		return nil
	}
	if list, err := survivor.eng.Nodes(ctx); err == nil {
		labels := map[string]map[string]string{}
		for _, sn := range list {
			if len(sn.Spec.Labels) > 0 && swarmAddr(sn) != survivor.ip {
				labels[swarmAddr(sn)] = sn.Spec.Labels
			}
		}
		if len(labels) > 0 {
			c.relabel[cl.Key()] = labels
		}
	}
	if _, err := survivor.eng.Init(ctx, swarm.InitRequest{ListenAddr: "0.0.0.0:" + swarm.ManagerPort, AdvertiseAddr: survivor.ip, ForceNewCluster: true}); err != nil {
		return fmt.Errorf("node %s: swarm init --force-new-cluster: %w", survivor.node.Name, err)
	}
	for _, m := range up {
		if m != survivor && m.info.Swarm.LocalNodeState != "inactive" {
			if err := m.eng.Leave(ctx, true); err != nil {
				return fmt.Errorf("node %s: leave the old swarm: %w", m.node.Name, err)
			}
		}
	}
	if list, err := survivor.eng.Nodes(ctx); err == nil {
		for _, sn := range list {
			if swarmAddr(sn) != survivor.ip {
				_ = survivor.eng.RemoveNode(ctx, sn.ID, true)
			}
		}
	}
	c.log.Info("swarm rebuilt", "cluster", cl.Key(), "survivor", survivor.node.Name)
	return nil
}

// restoreLabels puts the labels a rebuild saved back on the nodes that
// joined again (a new Swarm node has none: a stack placed by label would
// stay pending). A node not back yet keeps its labels for the next pass.
func (c *Controller) restoreLabels(ctx context.Context, cl fsm.Cluster, leader *member, list []swarm.Node) {
	saved := c.relabel[cl.Key()]
	for _, sn := range list {
		labels, ok := saved[swarmAddr(sn)]
		if !ok || sn.Status.State != "ready" {
			continue
		}
		if len(sn.Spec.Labels) == 0 {
			if err := leader.eng.SetLabels(ctx, sn.ID, labels); err != nil {
				c.log.Warn("restore swarm node labels after a rebuild", "cluster", cl.Key(), "addr", swarmAddr(sn), "err", err)
				continue
			}
			c.log.Info("swarm node labels restored after a rebuild", "cluster", cl.Key(), "addr", swarmAddr(sn), "labels", labels)
		}
		delete(saved, swarmAddr(sn))
	}
	if len(saved) == 0 {
		delete(c.relabel, cl.Key())
	}
}
