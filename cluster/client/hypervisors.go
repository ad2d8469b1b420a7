package client

import (
	"context"
	"net/url"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/fsm"
)

// Calls of hypervisor agents (with their agent certificate) and of admins
// managing hypervisors.

// RegisterHypervisor registers the calling agent's hypervisor.
func (c *Client) RegisterHypervisor(ctx context.Context, req api.RegisterRequest) (fsm.Hypervisor, error) {
	var out fsm.Hypervisor
	return out, c.Do(ctx, "POST", "/v1/hypervisors/register", req, &out)
}

// Heartbeat reports the calling agent's hypervisor usage.
func (c *Client) Heartbeat(ctx context.Context, u fsm.HVUsage) error {
	return c.Do(ctx, "POST", "/v1/hypervisors/heartbeat", u, nil)
}

// Desired returns what hypervisor name must run.
func (c *Client) Desired(ctx context.Context, name string) (api.DesiredState, error) {
	var out api.DesiredState
	return out, c.Do(ctx, "GET", "/v1/hypervisors/"+url.PathEscape(name)+"/desired", nil, &out)
}

// ReportNode reports a node's state (agent of the node's hypervisor only).
func (c *Client) ReportNode(ctx context.Context, name, state, reason string) error {
	return c.Do(ctx, "PUT", "/v1/nodes/"+url.PathEscape(name)+"/status", api.NodeStatusRequest{State: state, Reason: reason}, nil)
}

// Hypervisors lists hypervisors with their derived state and allocation.
func (c *Client) Hypervisors(ctx context.Context) ([]api.HypervisorStatus, error) {
	var out []api.HypervisorStatus
	return out, c.Do(ctx, "GET", "/v1/hypervisors", nil, &out)
}

// Hypervisor reads one hypervisor.
func (c *Client) Hypervisor(ctx context.Context, name string) (api.HypervisorStatus, error) {
	var out api.HypervisorStatus
	return out, c.Do(ctx, "GET", "/v1/hypervisors/"+url.PathEscape(name), nil, &out)
}

// Drain stops new placements on a hypervisor (drain true) or allows them
// again (false).
func (c *Client) Drain(ctx context.Context, name string, drain bool) (api.HypervisorStatus, error) {
	op := "/undrain"
	if drain {
		op = "/drain"
	}
	var out api.HypervisorStatus
	return out, c.Do(ctx, "POST", "/v1/hypervisors/"+url.PathEscape(name)+op, nil, &out)
}

// PutNode places a node by hand (admin).
func (c *Client) PutNode(ctx context.Context, n fsm.Node) (fsm.Node, error) {
	var out fsm.Node
	return out, c.Do(ctx, "PUT", "/v1/nodes/"+url.PathEscape(n.Name), n, &out)
}
