package fsm

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// BootLease is one day-2 DHCP pool lease: address IP given to MAC until
// Expiry, as the leader's DHCP server last saved it. Static reservations
// are machine records and never leases.
type BootLease struct {
	MAC    string    `json:"mac"`
	IP     string    `json:"ip"`
	Expiry time.Time `json:"expiry"`
	// Known: the MAC is a machine's (its lease outlives unknown ones').
	Known bool `json:"known,omitempty"`
}

// BootLeases is the body of TypeBootLeases: a batch of lease changes from
// the leader's DHCP server, proposed at most once a second and only for
// changes worth saving (a new or moved lease, a release, an expiry pushed
// far enough; pxe/dhcp decides). Put replaces the leases of those MACs,
// Delete forgets MACs.
type BootLeases struct {
	Meta
	Put    []BootLease `json:"put,omitempty"`
	Delete []string    `json:"delete,omitempty"`
}

// BootLeaseKeep is how long after its expiry a saved lease is dropped (by
// any TypeBootLeases applied later, against its Meta.Time), so leases of
// machines gone for good do not pile up.
const BootLeaseKeep = 24 * time.Hour

// MaxBootLeasesBatch bounds one batch (a /16 pool is 65534 addresses).
const MaxBootLeasesBatch = 1 << 16

// applyBootLeases applies a batch: deletes, then puts (an address moves to
// its new MAC: an older lease of the same IP is dropped), then drops leases
// expired for BootLeaseKeep. It records no event: leases change too often
// for the event log.
func applyBootLeases(s *State, index uint64, body []byte) (any, *Event, error) {
	var b BootLeases
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, nil, fmt.Errorf("decode boot leases at index %d: %w", index, err)
	}
	if len(b.Put)+len(b.Delete) > MaxBootLeasesBatch {
		return nil, nil, fmt.Errorf("boot leases at index %d: %d changes in one batch, over %d: %w", index, len(b.Put)+len(b.Delete), MaxBootLeasesBatch, ErrConflict)
	}
	for _, l := range b.Put {
		ip, err := netip.ParseAddr(l.IP)
		if l.MAC == "" || err != nil || !ip.Is4() {
			return nil, nil, fmt.Errorf("boot lease %q -> %q at index %d: want a MAC and an IPv4 address: %w", l.MAC, l.IP, index, ErrConflict)
		}
	}
	for _, mac := range b.Delete {
		delete(s.BootLeases, strings.ToLower(mac))
	}
	for _, l := range b.Put {
		l.MAC = strings.ToLower(l.MAC)
		for mac, old := range s.BootLeases {
			if old.IP == l.IP && mac != l.MAC {
				delete(s.BootLeases, mac)
			}
		}
		s.BootLeases[l.MAC] = l
	}
	cut := b.Time.Add(-BootLeaseKeep)
	for mac, l := range s.BootLeases {
		if l.Expiry.Before(cut) {
			delete(s.BootLeases, mac)
		}
	}
	return len(s.BootLeases), nil, nil
}
