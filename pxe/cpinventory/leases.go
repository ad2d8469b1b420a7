package cpinventory

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/pxe/dhcp"
)

// LoadLeases implements dhcp.LeaseStore: the pool leases saved in the
// replicated state, as this member's state has them (a new leader has
// applied the log up to its election).
func (inv *Inventory) LoadLeases(context.Context) ([]dhcp.Lease, error) {
	var out []dhcp.Lease
	inv.cfg.Cluster.View(func(s *fsm.State) {
		for _, l := range fsm.Sorted(s.BootLeases) {
			ip, err := netip.ParseAddr(l.IP)
			if err != nil {
				continue // Apply refuses those; never in the state
			}
			out = append(out, dhcp.Lease{MAC: l.MAC, IP: ip, Expiry: l.Expiry, Bound: true, Known: l.Known})
		}
	})
	return out, nil
}

// SaveLeases implements dhcp.LeaseStore: one TypeBootLeases command per
// batch, marked ignorable so that a member predating it skips it.
func (inv *Inventory) SaveLeases(ctx context.Context, put []dhcp.Lease, del []string) error {
	b := fsm.BootLeases{Meta: inv.meta(inv.cfg.Now().UTC()), Delete: del}
	for _, l := range put {
		b.Put = append(b.Put, fsm.BootLease{MAC: l.MAC, IP: l.IP.String(), Expiry: l.Expiry.UTC(), Known: l.Known})
	}
	if _, err := inv.cfg.Cluster.Propose(ctx, fsm.TypeBootLeases|fsm.IgnoreUnknown, b); err != nil {
		return fmt.Errorf("saving %d pool leases to the replicated state: %w", len(put)+len(del), err)
	}
	return nil
}
