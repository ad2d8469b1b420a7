package dhcp

import (
	"context"
	"fmt"
	"time"
)

// LeaseStore keeps pool leases beyond this server's state directory: on
// day-2 members it is the replicated state (pxe/cpinventory), so that the
// next leader honours the leases the last one gave.
type LeaseStore interface {
	// LoadLeases returns the saved leases.
	LoadLeases(ctx context.Context) ([]Lease, error)
	// SaveLeases saves a batch of changes: put replaces the leases of
	// those MACs, del forgets MACs. A failed batch is tried again (with
	// whatever changed meanwhile) at the next flush.
	SaveLeases(ctx context.Context, put []Lease, del []string) error
}

// How lease changes reach a LeaseStore, without a write per renewal:
//   - at most one batch per flush (once a second), holding every change;
//   - a lease is saved when it is new, moves to another address, changes
//     Known, or is released or taken over; a renewal is saved only when it
//     pushes the expiry more than grace (half the lease time) past the
//     saved one, so a client renewing at half-life costs one write every
//     other renewal;
//   - a server loading saved leases holds each for grace past its saved
//     expiry, which covers the renewals it was not told about.

// loadStored adds the store's leases (bound, held for grace past the saved
// expiry) and remembers them as saved. Leases outside the pool, or whose
// address another saved lease holds, are skipped.
func (l *leases) loadStored(list []Lease, grace time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.grace = grace
	for _, s := range list {
		if !s.IP.IsValid() || !l.inPool(s.IP) || l.byIP[s.IP] != nil || s.MAC == "" {
			continue
		}
		held := s
		held.Bound, held.Expiry = true, s.Expiry.Add(grace)
		if old := l.byMAC[s.MAC]; old != nil {
			delete(l.byIP, old.IP)
		}
		l.byMAC[s.MAC], l.byIP[s.IP] = &held, &held
		l.saved[s.MAC] = s
	}
}

// changes lists what differs from the saved leases enough to be saved.
func (l *leases) changes() (put []Lease, del []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for mac, ls := range l.byMAC {
		if !ls.Bound {
			continue
		}
		s, ok := l.saved[mac]
		if !ok || s.IP != ls.IP || s.Known != ls.Known || ls.Expiry.After(s.Expiry.Add(l.grace)) {
			put = append(put, *ls)
		}
	}
	for mac := range l.saved {
		if ls := l.byMAC[mac]; ls == nil || !ls.Bound {
			del = append(del, mac)
		}
	}
	return put, del
}

// markSaved records a batch the store accepted.
func (l *leases) markSaved(put []Lease, del []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ls := range put {
		l.saved[ls.MAC] = ls
	}
	for _, mac := range del {
		delete(l.saved, mac)
	}
}

// loadFromStore starts the pool from the LeaseStore (when there is one).
func (s *Server) loadFromStore() error {
	if s.cfg.Leases == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := s.cfg.Leases.LoadLeases(ctx)
	if err != nil {
		return fmt.Errorf("dhcp: loading the saved pool leases: %w", err)
	}
	s.leases.loadStored(list, s.cfg.LeaseTime/2)
	s.log.Info("pool leases loaded", "leases", len(list))
	return nil
}

// syncLeases saves the lease changes worth saving in one batch.
func (s *Server) syncLeases(ctx context.Context) {
	if s.cfg.Leases == nil {
		return
	}
	put, del := s.leases.changes()
	if len(put)+len(del) == 0 {
		return
	}
	if err := s.cfg.Leases.SaveLeases(ctx, put, del); err != nil {
		if ctx.Err() == nil {
			s.log.Warn("saving pool leases failed; retrying at the next flush", "put", len(put), "delete", len(del), "err", err)
		}
		return
	}
	s.leases.markSaved(put, del)
	s.log.Debug("pool leases saved", "put", len(put), "delete", len(del))
}
