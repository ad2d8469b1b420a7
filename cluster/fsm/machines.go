package fsm

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Machine states the day-2 boot server records (State of a Machine). A
// machine in the table with any of them is bootable; "" is one recorded by
// hand or from the install config that has not booted from the control
// plane yet.
const (
	MachineAdmitted      = "admitted"       // admitted; its next network boot installs it
	MachineConfigFetched = "config-fetched" // fetched its Ignition config
	MachineReported      = "reported"       // booted and reported back
	MachineInstalled     = "installed"      // its OS is on Disk: it boots from disk
	MachineFailed        = "failed"         // reported a boot failure
)

// MaxDiscovered bounds the discovered table: past it the machine seen least
// recently is forgotten, so a flood of random MACs cannot grow the state.
const MaxDiscovered = 1024

// InstallConfig is the install config stored at handover: the validated,
// secrets-free YAML (snippets inlined) that day-2 boot renders configs from.
type InstallConfig struct {
	YAML        string    `json:"yaml"`
	SHA256      string    `json:"sha256"`
	Stored      time.Time `json:"stored"`
	StoredBy    string    `json:"stored_by,omitempty"`
	ModifyIndex uint64    `json:"modify_index"`
}

// PutInstallConfig is the body of TypeInstallConfigPut: the config, and the
// machines it lists, recorded unless a machine of that name is known.
type PutInstallConfig struct {
	Meta
	Config   InstallConfig `json:"config"`
	Machines []Machine     `json:"machines,omitempty"`
}

// DiscoveredMachine is a machine that network-booted but is in no machine
// record. Its key is its MAC (lowercase, colons).
type DiscoveredMachine struct {
	MAC       string    `json:"mac"`
	UUID      string    `json:"uuid,omitempty"`
	Arch      string    `json:"arch,omitempty"`
	IP        string    `json:"ip,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// By is the member whose boot server saw it.
	By string `json:"by,omitempty"`
}

// MachineByMAC finds the machine with MAC mac (any case).
func (s *State) MachineByMAC(mac string) (Machine, bool) {
	for _, m := range s.Machines {
		if m.MAC != "" && strings.EqualFold(m.MAC, mac) {
			return m, true
		}
	}
	return Machine{}, false
}

// MachineByUUID finds the machine with SMBIOS UUID uuid (any case).
func (s *State) MachineByUUID(uuid string) (Machine, bool) {
	for _, m := range s.Machines {
		if m.UUID != "" && strings.EqualFold(m.UUID, uuid) {
			return m, true
		}
	}
	return Machine{}, false
}

// admitDiscovered forgets the discovered entries a machine record now
// covers (same MAC or UUID): admitting a machine moves it out of that table.
func admitDiscovered(s *State, m *Machine) error {
	for mac, d := range s.Discovered {
		if (m.MAC != "" && strings.EqualFold(mac, m.MAC)) || (m.UUID != "" && strings.EqualFold(d.UUID, m.UUID)) {
			delete(s.Discovered, mac)
		}
	}
	return nil
}

func applyInstallConfigPut(s *State, index uint64, body []byte) (any, *Event, error) {
	var p PutInstallConfig
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, nil, fmt.Errorf("decode install config at index %d: %w", index, err)
	}
	if p.Config.YAML == "" {
		return nil, nil, fmt.Errorf("install config is empty: %w", ErrConflict)
	}
	c := p.Config
	c.ModifyIndex, c.Stored, c.StoredBy = index, p.Time, p.Actor
	s.InstallConfig = &c
	for _, m := range p.Machines {
		if _, ok := s.Machines[m.Name]; ok || m.Name == "" {
			continue
		}
		m.ModifyIndex = index
		_ = admitDiscovered(s, &m)
		s.Machines[m.Name] = m
	}
	return c, &Event{Time: p.Time, Actor: p.Actor, Kind: "install_config", Action: "update", Object: c.SHA256}, nil
}

// applyMachineDiscovered records a sighting: the first one creates the
// entry (an event), later ones update it without an event. A MAC that a
// machine record has is not recorded.
func applyMachineDiscovered(s *State, index uint64, body []byte) (any, *Event, error) {
	var u Upsert[DiscoveredMachine]
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, nil, fmt.Errorf("decode discovered machine at index %d: %w", index, err)
	}
	d := u.Object
	d.MAC = strings.ToLower(d.MAC)
	if d.MAC == "" {
		return nil, nil, fmt.Errorf("discovered machine has no MAC: %w", ErrConflict)
	}
	if m, ok := s.MachineByMAC(d.MAC); ok {
		return nil, nil, fmt.Errorf("MAC %s is machine %q's, not a discovered one: %w", d.MAC, m.Name, ErrConflict)
	}
	old, seen := s.Discovered[d.MAC]
	if seen {
		d.FirstSeen = old.FirstSeen
		if d.UUID == "" {
			d.UUID = old.UUID
		}
		if d.Arch == "" {
			d.Arch = old.Arch
		}
		if d.IP == "" {
			d.IP = old.IP
		}
		s.Discovered[d.MAC] = d
		return d, nil, nil
	}
	if d.FirstSeen.IsZero() {
		d.FirstSeen = u.Time
	}
	if d.LastSeen.IsZero() {
		d.LastSeen = u.Time
	}
	for len(s.Discovered) >= MaxDiscovered {
		evictDiscovered(s)
	}
	s.Discovered[d.MAC] = d
	return d, &Event{Time: u.Time, Actor: u.Actor, Kind: "discovered_machine", Action: "create", Object: d.MAC}, nil
}

// evictDiscovered forgets the entry seen least recently (ties: lowest MAC),
// the same one on every member.
func evictDiscovered(s *State) {
	var oldest string
	for mac, d := range s.Discovered {
		o, ok := s.Discovered[oldest]
		if !ok || d.LastSeen.Before(o.LastSeen) || (d.LastSeen.Equal(o.LastSeen) && mac < oldest) {
			oldest = mac
		}
	}
	delete(s.Discovered, oldest)
}
