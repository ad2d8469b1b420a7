package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vela-appliance/vela/cluster/agent/hypervisor"
	"github.com/vela-appliance/vela/cluster/agent/node"
	"github.com/vela-appliance/vela/cluster/controller/credentials"
)

// reference is the raw cost of the same nodes without Vela's control
// plane: the node manager prepares each node (disk, root, TLS, domain XML)
// and hypervisor.Client defines and starts its LXC domain, then the node's
// dockerd is waited for on its TLS port; the exact steps the agent takes
// for a node, with no API, Raft, controller or Swarm.
type reference struct {
	mgr *node.Manager
	hv  *hypervisor.Client
	ca  *credentials.CA
	net node.TenantNet
}

func newReference(ctx context.Context, mgr *node.Manager, hv *hypervisor.Client) (*reference, error) {
	certPEM, keyPEM, err := credentials.NewCA("ref/bench", time.Now())
	if err != nil {
		return nil, err
	}
	ca, err := credentials.ParseCA(string(certPEM), string(keyPEM))
	if err != nil {
		return nil, err
	}
	r := &reference{mgr: mgr, hv: hv, ca: ca, net: node.TenantNet{Tenant: "ref", Gateway: netip.MustParsePrefix("10.239.200.1/24")}}
	if _, err := mgr.EnsureNetwork(ctx, r.net); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *reference) spec(i int) node.Spec {
	addr := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 239, 200, byte(10 + i)}), 24)
	return node.Spec{Name: fmt.Sprintf("ref-%d", i), Tenant: "ref", Address: addr, Gateway: r.net.Gateway.Addr(),
		Bridge: node.BridgeName("ref")}.WithDefaults()
}

// create makes nodes first..first+n-1 one after the other and returns when
// every dockerd listens.
func (r *reference) create(ctx context.Context, first, n int) error {
	for i := first; i < first+n; i++ {
		s := r.spec(i)
		cert, key, err := r.ca.Server(s.Name, net.IP(s.Address.Addr().AsSlice()), time.Now())
		if err != nil {
			return err
		}
		xml, err := r.mgr.Prepare(ctx, s, node.TLS{CACert: r.ca.CertPEM(), Cert: cert, Key: key})
		if err != nil {
			return err
		}
		if _, err := r.hv.Define(ctx, xml); err != nil {
			return err
		}
		if err := r.hv.Start(ctx, s.Name); err != nil {
			return err
		}
		if err := r.mgr.Handover(ctx, s); err != nil {
			return err
		}
		if err := r.mgr.WaitReady(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// remove stops, undefines and removes nodes 0..n-1.
func (r *reference) remove(ctx context.Context, n int) error {
	for i := 0; i < n; i++ {
		name := r.spec(i).Name
		if err := r.hv.Undefine(ctx, name); err != nil {
			return err
		}
		if err := r.mgr.Remove(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func (r *reference) close(ctx context.Context) error {
	_ = r.remove(ctx, 4)
	return node.RemoveNetwork(ctx, r.net)
}
