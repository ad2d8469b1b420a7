package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/pxe"
)

// StateFile is the file in the state directory holding the record.
const StateFile = "machines.json"

// MaxDiscovered bounds the discovered record; the least recently seen
// machines are forgotten first, so a flood of random MACs cannot fill a disk.
const MaxDiscovered = 4096

// Config configures an Inventory.
type Config struct {
	Install  *config.Config // a loaded, defaulted, valid install config
	StateDir string         // where the record persists ("" keeps it in memory)
	Now      func() time.Time
}

// Inventory answers from the install config and records discovered machines.
type Inventory struct {
	byMAC, byUUID map[string]pxe.Machine
	stateDir      string
	now           func() time.Time

	mu        sync.Mutex
	st        state
	lastWrite time.Time
}

type state struct {
	Discovered map[string]pxe.Discovered `json:"discovered"`
	Installed  map[string]time.Time      `json:"installed"`
}

// New builds the inventory and loads the record from the state directory.
func New(cfg Config) (*Inventory, error) {
	if cfg.Install == nil {
		return nil, errors.New("inventory: no install config")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	inv := &Inventory{byMAC: map[string]pxe.Machine{}, byUUID: map[string]pxe.Machine{}, stateDir: cfg.StateDir, now: cfg.Now}
	c := cfg.Install
	args := c.OS.KernelArgs
	if c.OS.Image == config.ImageVelaOS {
		args = strings.TrimSpace(images.VelaOSKernelArgs + " " + args)
	}
	for _, m := range c.Machines {
		pm := pxe.Machine{
			Name: m.Name, MAC: pxe.NormalizeMAC(m.MAC), UUID: strings.ToLower(m.UUID),
			Image: c.OS.Image, KernelArgs: args, Disk: m.Disk,
		}
		if m.Static() {
			a, err := netip.ParseAddr(m.Address)
			if err != nil {
				return nil, fmt.Errorf("inventory: machine %q: address %q: %w; fix the config", m.Name, m.Address, err)
			}
			pm.Address = a
		}
		if pm.MAC != "" {
			inv.byMAC[pm.MAC] = pm
		}
		if pm.UUID != "" {
			inv.byUUID[pm.UUID] = pm
		}
	}
	st, err := readState(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	inv.st = st
	return inv, nil
}

// readState loads the record in stateDir (empty when there is none yet).
func readState(stateDir string) (state, error) {
	st := state{Discovered: map[string]pxe.Discovered{}, Installed: map[string]time.Time{}}
	if stateDir == "" {
		return st, nil
	}
	b, err := os.ReadFile(filepath.Join(stateDir, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("inventory: read machine record: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("inventory: %s is damaged (%v); move it away to start a fresh record", filepath.Join(stateDir, StateFile), err)
	}
	if st.Discovered == nil {
		st.Discovered = map[string]pxe.Discovered{}
	}
	if st.Installed == nil {
		st.Installed = map[string]time.Time{}
	}
	return st, nil
}

// ListDiscovered returns the discovered machines recorded in stateDir,
// first seen first.
func ListDiscovered(stateDir string) ([]pxe.Discovered, error) {
	st, err := readState(stateDir)
	if err != nil {
		return nil, err
	}
	return pxe.SortDiscovered(st.Discovered), nil
}

// Lookup implements pxe.Inventory.
func (inv *Inventory) Lookup(_ context.Context, c pxe.Client) (pxe.Machine, error) {
	m, ok := inv.byMAC[pxe.NormalizeMAC(c.MAC)]
	if !ok && c.UUID != "" {
		m, ok = inv.byUUID[strings.ToLower(c.UUID)]
	}
	if !ok {
		return pxe.Machine{}, pxe.ErrUnknown
	}
	inv.mu.Lock()
	_, m.Installed = inv.st.Installed[m.Name]
	inv.mu.Unlock()
	if m.Disk == "" {
		m.Installed = false
	}
	return m, nil
}

// Discover implements pxe.Inventory.
func (inv *Inventory) Discover(_ context.Context, c pxe.Client) error {
	mac := pxe.NormalizeMAC(c.MAC)
	if mac == "" {
		return fmt.Errorf("inventory: discovered machine has no valid MAC (%q)", c.MAC)
	}
	now := inv.now().UTC()
	inv.mu.Lock()
	defer inv.mu.Unlock()
	d, seen := inv.st.Discovered[mac]
	changed := !seen
	if !seen {
		d = pxe.Discovered{MAC: mac, FirstSeen: now}
		inv.evict()
	}
	for _, f := range []struct {
		dst *string
		v   string
	}{{&d.UUID, strings.ToLower(c.UUID)}, {&d.Arch, c.Arch}, {&d.IP, c.IP}} {
		if f.v != "" && *f.dst != f.v {
			*f.dst, changed = f.v, true
		}
	}
	d.LastSeen = now
	inv.st.Discovered[mac] = d
	if changed || now.Sub(inv.lastWrite) > time.Minute {
		return inv.save(now)
	}
	return nil
}

func (inv *Inventory) evict() {
	if len(inv.st.Discovered) < MaxDiscovered {
		return
	}
	var oldest string
	for mac, d := range inv.st.Discovered {
		if oldest == "" || d.LastSeen.Before(inv.st.Discovered[oldest].LastSeen) {
			oldest = mac
		}
	}
	delete(inv.st.Discovered, oldest)
}

// MarkInstalled implements pxe.Inventory.
func (inv *Inventory) MarkInstalled(_ context.Context, name string) error {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if _, ok := inv.st.Installed[name]; ok {
		return nil
	}
	now := inv.now().UTC()
	inv.st.Installed[name] = now
	return inv.save(now)
}

// Discovered returns the discovered machines, first seen first.
func (inv *Inventory) Discovered() []pxe.Discovered {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return pxe.SortDiscovered(inv.st.Discovered)
}

// save writes the record atomically; the caller holds mu.
func (inv *Inventory) save(now time.Time) error {
	inv.lastWrite = now
	if inv.stateDir == "" {
		return nil
	}
	b, err := json.MarshalIndent(inv.st, "", "  ")
	if err != nil {
		return err
	}
	return WriteAtomic(filepath.Join(inv.stateDir, StateFile), b, 0o644)
}

// WriteAtomic writes b to path through a temporary file and a rename, so a
// crash never leaves a half-written record.
func WriteAtomic(path string, b []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w (is the state directory writable?)", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
