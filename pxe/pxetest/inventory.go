package pxetest

import (
	"context"
	"strings"
	"sync"

	"github.com/vela-appliance/vela/pxe"
)

// Inventory is a fixed, in-memory pxe.Inventory.
type Inventory struct {
	mu         sync.Mutex
	Machines   []pxe.Machine
	Discovered []pxe.Client
	Installed  []string
	// Err, when set, is returned by every call (a broken backend).
	Err error
}

// Lookup implements pxe.Inventory.
func (f *Inventory) Lookup(_ context.Context, c pxe.Client) (pxe.Machine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return pxe.Machine{}, f.Err
	}
	for _, m := range f.Machines {
		if (m.MAC != "" && m.MAC == pxe.NormalizeMAC(c.MAC)) || (m.UUID != "" && strings.EqualFold(m.UUID, c.UUID)) {
			for _, n := range f.Installed {
				if n == m.Name && m.Disk != "" {
					m.Installed = true
				}
			}
			return m, nil
		}
	}
	return pxe.Machine{}, pxe.ErrUnknown
}

// Discover implements pxe.Inventory.
func (f *Inventory) Discover(_ context.Context, c pxe.Client) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return f.Err
	}
	f.Discovered = append(f.Discovered, c)
	return nil
}

// MarkInstalled implements pxe.Inventory.
func (f *Inventory) MarkInstalled(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return f.Err
	}
	f.Installed = append(f.Installed, name)
	return nil
}

// DiscoveredMACs returns the MACs recorded by Discover.
func (f *Inventory) DiscoveredMACs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.Discovered {
		out = append(out, c.MAC)
	}
	return out
}

// States records machine state transitions (a pxe.StateFunc).
type States struct {
	mu  sync.Mutex
	Log []string // "machine mac state"
}

// Record implements pxe.StateFunc.
func (s *States) Record(machine, mac, state, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Log = append(s.Log, machine+" "+mac+" "+state)
}

// Snapshot returns a copy of the log.
func (s *States) Snapshot() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.Log...)
}

var _ pxe.Inventory = (*Inventory)(nil)
