package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"

	"github.com/vela-appliance/vela/cluster/agent/node"
	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/fsm"
)

// APIClient is what APIControlPlane needs of the control plane's API
// (cluster/client.Client with the agent's certificate).
type APIClient interface {
	RegisterHypervisor(ctx context.Context, req api.RegisterRequest) (fsm.Hypervisor, error)
	Heartbeat(ctx context.Context, u fsm.HVUsage) error
	Desired(ctx context.Context, name string) (api.DesiredState, error)
	ReportNode(ctx context.Context, name, state, reason string) error
}

// APIControlPlane is the ControlPlane of an agent joined to the control
// plane: it registers and heartbeats through the API, reads the nodes
// placed on this hypervisor and the routes to its tenants' subnets on
// other hypervisors, and reports node states. A node record the agent
// cannot run (a bad address, no TLS material) is reported failed with the
// reason rather than stopping the other nodes.
type APIControlPlane struct {
	Client APIClient
	// Address is the IP this hypervisor registers (other hypervisors route
	// tenant subnets to it).
	Address string
	Logger  *slog.Logger

	mu  sync.Mutex
	reg *Registration
}

// Register registers this hypervisor.
func (c *APIControlPlane) Register(ctx context.Context, r Registration) error {
	c.mu.Lock()
	c.reg = &r
	c.mu.Unlock()
	_, err := c.Client.RegisterHypervisor(ctx, api.RegisterRequest{Address: c.Address, CPUs: r.CPUs,
		MemoryBytes: int64(r.MemoryBytes), DiskBytes: int64(r.DiskBytes), LibvirtVersion: r.LibvirtVersion,
		KernelVersion: r.KernelVersion, ImageVersion: r.ImageVersion})
	return err
}

// Heartbeat reports usage; when the control plane has forgotten this
// hypervisor (an admin deleted the record) it registers again first.
func (c *APIControlPlane) Heartbeat(ctx context.Context, u Usage) error {
	hu := fsm.HVUsage{Nodes: u.Nodes, MemoryBytes: int64(u.AllocatedMemory), VCPUs: u.AllocatedVCPUs,
		DiskBytes: int64(u.AllocatedDiskBytes), LibvirtReachable: u.LibvirtReachable}
	err := c.Client.Heartbeat(ctx, hu)
	c.mu.Lock()
	reg := c.reg
	c.mu.Unlock()
	if client.StatusOf(err) != http.StatusNotFound || reg == nil {
		return err
	}
	if err := c.Register(ctx, *reg); err != nil {
		return fmt.Errorf("register again after the control plane forgot this hypervisor: %w", err)
	}
	return c.Client.Heartbeat(ctx, hu)
}

// DesiredNodes returns the nodes to run (Desired has the rest).
func (c *APIControlPlane) DesiredNodes(ctx context.Context, hostname string) ([]DesiredNode, error) {
	d, err := c.Desired(ctx, hostname)
	return d.Nodes, err
}

// Desired reads what this hypervisor must run.
func (c *APIControlPlane) Desired(ctx context.Context, hostname string) (Desired, error) {
	ds, err := c.Client.Desired(ctx, hostname)
	if err != nil {
		return Desired{}, err
	}
	subnets := map[string]netip.Prefix{}
	for _, sn := range ds.Subnets {
		if p, err := netip.ParsePrefix(sn.Prefix); err == nil {
			subnets[sn.Tenant] = p.Masked()
		}
	}
	var out Desired
	for _, n := range ds.Nodes {
		if n.Desired == fsm.NodeDesiredDeleted {
			if n.State != fsm.NodeDeleted {
				out.Deleted = append(out.Deleted, n.Name)
			}
			continue
		}
		d, err := toDesired(n, subnets)
		if err != nil {
			if n.State != fsm.NodeFailed || n.Reason != err.Error() {
				if rerr := c.Client.ReportNode(ctx, n.Name, fsm.NodeFailed, err.Error()); rerr != nil {
					c.log().Warn("report node failed", "node", n.Name, "err", rerr)
				}
			}
			continue
		}
		out.Nodes = append(out.Nodes, d)
	}
	for _, r := range ds.Routes {
		p, perr := netip.ParsePrefix(r.Prefix)
		via, verr := netip.ParseAddr(r.Via)
		if perr != nil || verr != nil {
			c.log().Warn("skipping a malformed route", "tenant", r.Tenant, "prefix", r.Prefix, "via", r.Via)
			continue
		}
		out.Routes = append(out.Routes, node.Route{Tenant: r.Tenant, Prefix: p.Masked(), Via: via})
	}
	return out, nil
}

// toDesired maps a node record to what the agent runs: the tenant
// network's prefix length comes from the tenant's subnet on this
// hypervisor (else from the node's address).
func toDesired(n fsm.Node, subnets map[string]netip.Prefix) (DesiredNode, error) {
	addr, err := netip.ParsePrefix(n.Address)
	if err != nil {
		return DesiredNode{}, fmt.Errorf("node %q: address %q: %v", n.Name, n.Address, err)
	}
	bits := addr.Bits()
	if sn, ok := subnets[n.Tenant]; ok && sn.Contains(addr.Addr()) {
		bits = sn.Bits()
		addr = netip.PrefixFrom(addr.Addr(), bits)
	}
	gw := addr.Masked().Addr().Next()
	if n.Gateway != "" {
		if gw, err = netip.ParseAddr(n.Gateway); err != nil {
			return DesiredNode{}, fmt.Errorf("node %q: gateway %q: %v", n.Name, n.Gateway, err)
		}
	}
	if n.TLS == nil || n.TLS.CACert == "" || n.TLS.Cert == "" || n.TLS.Key == "" {
		return DesiredNode{}, errors.New("the node record has no complete TLS material (ca_cert, cert, key) for its dockerd")
	}
	s := node.Spec{Name: n.Name, Tenant: n.Tenant, Address: addr, Gateway: gw, MemoryBytes: uint64(max(n.MemoryBytes, 0)),
		VCPUs: n.VCPUs, DiskBytes: uint64(max(n.DiskBytes, 0)), Bridge: node.BridgeName(n.Tenant)}.WithDefaults()
	if err := s.Validate(); err != nil {
		return DesiredNode{}, err
	}
	return DesiredNode{Spec: s, Network: node.TenantNet{Tenant: n.Tenant, Gateway: netip.PrefixFrom(gw, bits)},
		TLS: node.TLS{CACert: []byte(n.TLS.CACert), Cert: []byte(n.TLS.Cert), Key: []byte(n.TLS.Key)}}, nil
}

// ReportNode reports a node's state. A deleted node whose record is gone
// already needs no report.
func (c *APIControlPlane) ReportNode(ctx context.Context, _ string, s NodeStatus) error {
	err := c.Client.ReportNode(ctx, s.Name, string(s.State), s.Reason)
	if s.State == Deleted && client.StatusOf(err) == http.StatusNotFound {
		return nil
	}
	return err
}

func (c *APIControlPlane) log() *slog.Logger {
	if c.Logger == nil {
		return slog.Default()
	}
	return c.Logger
}
