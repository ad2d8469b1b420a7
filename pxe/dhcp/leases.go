package dhcp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/vela-appliance/vela/pxe/inventory"
)

// LeasesFile is the file in the state directory holding the leases.
const LeasesFile = "leases.json"

// offerHold is how long an offered, not yet requested address stays held.
const offerHold = 30 * time.Second

// ErrPoolExhausted is returned when no address is free for a client.
var ErrPoolExhausted = errors.New("DHCP pool exhausted")

// Lease is one address given to one MAC.
type Lease struct {
	MAC    string     `json:"mac"`
	IP     netip.Addr `json:"ip"`
	Expiry time.Time  `json:"expiry"`
	Bound  bool       `json:"bound"` // false: offered, not yet requested
	Known  bool       `json:"known"` // the MAC is a machine of the inventory
}

// leases allocates pool addresses and honours reservations. The pool never
// holds a reservation (the config validator refuses it), so a flood of
// unknown MACs can exhaust the pool but never take a reserved address; and a
// known machine without reservation may take the pool address of the least
// recently used unknown MAC.
type leases struct {
	mu       sync.Mutex
	first    netip.Addr
	last     netip.Addr
	byMAC    map[string]*Lease
	byIP     map[netip.Addr]*Lease
	declined map[netip.Addr]time.Time
	path     string
	dirty    bool
	// saved is what the LeaseStore holds, by MAC; grace is how long past
	// a saved expiry a lease is held (leasesync.go).
	saved map[string]Lease
	grace time.Duration
}

func newLeases(first, last netip.Addr, stateDir string) (*leases, error) {
	l := &leases{first: first, last: last, byMAC: map[string]*Lease{}, byIP: map[netip.Addr]*Lease{}, declined: map[netip.Addr]time.Time{}, saved: map[string]Lease{}}
	if stateDir == "" {
		return l, nil
	}
	l.path = filepath.Join(stateDir, LeasesFile)
	b, err := os.ReadFile(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dhcp: read leases: %w", err)
	}
	var list []*Lease
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("dhcp: %s is damaged (%v); move it away to start with no leases", l.path, err)
	}
	for _, ls := range list {
		if ls.IP.IsValid() && l.inPool(ls.IP) && l.byIP[ls.IP] == nil {
			l.byMAC[ls.MAC], l.byIP[ls.IP] = ls, ls
		}
	}
	return l, nil
}

func (l *leases) inPool(a netip.Addr) bool {
	return l.first.IsValid() && l.first.Compare(a) <= 0 && a.Compare(l.last) <= 0
}

func (l *leases) free(a netip.Addr, mac string, now time.Time) bool {
	if t, ok := l.declined[a]; ok && now.Before(t) {
		return false
	}
	ls := l.byIP[a]
	return ls == nil || ls.MAC == mac || now.After(ls.Expiry)
}

// take gives a to mac, dropping whatever either held before.
func (l *leases) take(mac string, a netip.Addr, known, bound bool, until time.Time) *Lease {
	if old := l.byMAC[mac]; old != nil {
		delete(l.byIP, old.IP)
	}
	if old := l.byIP[a]; old != nil {
		delete(l.byMAC, old.MAC)
	}
	ls := &Lease{MAC: mac, IP: a, Expiry: until, Bound: bound, Known: known}
	l.byMAC[mac], l.byIP[a] = ls, ls
	if bound {
		l.dirty = true
	}
	return ls
}

// offer picks a pool address for mac and holds it briefly.
func (l *leases) offer(mac string, known bool, requested netip.Addr, now time.Time) (netip.Addr, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.first.IsValid() {
		return netip.Addr{}, fmt.Errorf("%w: no pool configured (network.dhcp.pool)", ErrPoolExhausted)
	}
	hold := now.Add(offerHold)
	if ls := l.byMAC[mac]; ls != nil && l.free(ls.IP, mac, now) {
		if !ls.Bound {
			ls.Expiry = hold
		}
		return ls.IP, nil
	}
	if requested.IsValid() && l.inPool(requested) && l.free(requested, mac, now) {
		return l.take(mac, requested, known, false, hold).IP, nil
	}
	for a := l.first; a.IsValid() && a.Compare(l.last) <= 0; a = a.Next() {
		if l.free(a, mac, now) {
			return l.take(mac, a, known, false, hold).IP, nil
		}
	}
	if known {
		// Evict the least recently used lease of an unknown MAC.
		var victim *Lease
		for _, ls := range l.byIP {
			if !ls.Known && (victim == nil || ls.Expiry.Before(victim.Expiry)) {
				victim = ls
			}
		}
		if victim != nil {
			return l.take(mac, victim.IP, known, false, hold).IP, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%w: %s-%s all leased; shorten lease_time, widen the pool, or give machines static addresses", ErrPoolExhausted, l.first, l.last)
}

// bind confirms a REQUEST for a; false means NAK.
func (l *leases) bind(mac string, a netip.Addr, known bool, now time.Time, d time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.inPool(a) || !l.free(a, mac, now) {
		return false
	}
	if ls := l.byMAC[mac]; ls != nil && ls.IP == a {
		if !ls.Bound {
			l.dirty = true
		}
		ls.Bound, ls.Known, ls.Expiry = true, known, now.Add(d)
		return true
	}
	l.take(mac, a, known, true, now.Add(d))
	return true
}

func (l *leases) release(mac string, a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ls := l.byMAC[mac]; ls != nil && ls.IP == a {
		delete(l.byMAC, mac)
		delete(l.byIP, a)
		l.dirty = true
	}
}

// decline quarantines an address a client found in use.
func (l *leases) decline(mac string, a netip.Addr, until time.Time) {
	l.release(mac, a)
	l.mu.Lock()
	if l.inPool(a) {
		l.declined[a] = until
	}
	l.mu.Unlock()
}

// lookup returns the bound, unexpired address of mac.
func (l *leases) lookup(mac string, now time.Time) (netip.Addr, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ls := l.byMAC[mac]; ls != nil && ls.Bound && now.Before(ls.Expiry) {
		return ls.IP, true
	}
	return netip.Addr{}, false
}

// macOf returns the MAC last given ip.
func (l *leases) macOf(a netip.Addr) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ls := l.byIP[a]; ls != nil {
		return ls.MAC, true
	}
	return "", false
}

// flush writes the bound leases if they changed.
func (l *leases) flush() error {
	l.mu.Lock()
	if !l.dirty || l.path == "" {
		l.mu.Unlock()
		return nil
	}
	list := make([]Lease, 0, len(l.byMAC))
	for _, ls := range l.byMAC {
		if ls.Bound {
			list = append(list, *ls)
		}
	}
	l.dirty = false
	l.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].IP.Less(list[j].IP) })
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	return inventory.WriteAtomic(l.path, b, 0o644)
}
