package agent

import (
	"context"
	"fmt"
	"slices"

	"github.com/vela-appliance/vela/cluster/agent/node"
)

// desired asks the control plane what this hypervisor must run: all of it
// from a DesiredStater, the nodes only from another ControlPlane.
func (a *Agent) desired(ctx context.Context) (Desired, error) {
	if ds, ok := a.cfg.ControlPlane.(DesiredStater); ok {
		return ds.Desired(ctx, a.cfg.Hostname)
	}
	nodes, err := a.cfg.ControlPlane.DesiredNodes(ctx, a.cfg.Hostname)
	return Desired{Nodes: nodes}, err
}

// network applies the routes to the local tenants' subnets elsewhere and
// reports deleted the nodes the control plane wants gone that never were
// (or no longer are) on this host.
func (a *Agent) network(ctx context.Context, d Desired, want map[string]bool, managed []string) []error {
	var errs []error
	seen := map[string]bool{}
	var nets []node.TenantNet
	for _, n := range d.Nodes {
		if !seen[n.Network.Tenant] {
			seen[n.Network.Tenant] = true
			nets = append(nets, n.Network)
		}
	}
	if err := a.cfg.Nodes.EnsureRoutes(ctx, nets, d.Routes); err != nil {
		errs = append(errs, fmt.Errorf("routes to other hypervisors: %w", err))
	}
	for _, name := range d.Deleted {
		if !want[name] && !slices.Contains(managed, name) {
			a.report(ctx, NodeStatus{Name: name, State: Deleted})
		}
	}
	return errs
}
