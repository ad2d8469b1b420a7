package cpinventory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/ignition"
	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/pxe"
)

// Cluster is what the inventory needs of the control plane: the replicated
// state (read locally: this runs on the leader) and a way to commit a
// command through Raft.
type Cluster interface {
	View(fn func(*fsm.State))
	Propose(ctx context.Context, t fsm.Type, body any) (fsm.Result, error)
}

// Defaults of Config.
const (
	DefaultJoinTTL       = 24 * time.Hour
	DefaultDiscoverEvery = time.Minute
	DefaultDiscoverBurst = 20
	DefaultDiscoverRate  = 5 // new discovered entries per second
)

// Config configures an Inventory.
type Config struct {
	Cluster Cluster
	// Member is this member's ID: the actor of its commands.
	Member string
	// BootURL is this boot server's URL, http://ADDR:PORT.
	BootURL string
	// BootAddress is this member's address on the boot network with its
	// prefix length; rendered configs see it as network.address.
	BootAddress netip.Prefix
	// VelaSHA512 is the hex sha512 of the vela binary served at /vela/vela.
	VelaSHA512 string
	// BootImage is what a member fetches to serve day-2 boot in turn
	// (serve.BootImage of the images served); nil renders members
	// (re)booting from here without day-2 boot.
	BootImage *ignition.BootImage
	// NodeImageSHA512 is the hex sha512 of the packed node image served at
	// /images/node/rootfs (serve.NodeImage): hypervisors fetch and mount
	// it, members keep a copy to serve day-2 boot in turn. "" renders them
	// without it, with a warning per hypervisor.
	NodeImageSHA512 string
	// JoinTTL is the life of the join tokens rendered into configs.
	JoinTTL time.Duration
	// DiscoverEvery is how often one unknown MAC's sighting is written
	// when nothing about it changed.
	DiscoverEvery time.Duration
	// DiscoverRate and DiscoverBurst bound new discovered entries.
	DiscoverRate  float64
	DiscoverBurst int
	Now           func() time.Time
	Logger        *slog.Logger
}

// Inventory is the control-plane-backed pxe.Inventory; it also gives the
// machines' Ignition configs (httpboot.ConfigSource) and records their boot
// states (OnState).
type Inventory struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	parsed parsedConfig
	seen   map[string]sighting // MAC -> last written sighting
	bucket float64
	refill time.Time

	stateMu  sync.Mutex // one machine state write at a time, in order
	renderMu sync.Mutex
	cache    map[string]rendered
}

type parsedConfig struct {
	index uint64
	c     *config.Config
}

type sighting struct {
	d  fsm.DiscoveredMachine
	at time.Time
}

// maxSightings bounds the in-memory sighting record.
const maxSightings = 4096

// New checks the config.
func New(cfg Config) (*Inventory, error) {
	switch {
	case cfg.Cluster == nil:
		return nil, errors.New("cpinventory: no cluster")
	case !strings.HasPrefix(cfg.BootURL, "http://"):
		return nil, fmt.Errorf("cpinventory: boot URL %q: want http://ADDR:PORT", cfg.BootURL)
	case !cfg.BootAddress.IsValid():
		return nil, errors.New("cpinventory: no boot network address")
	}
	if cfg.JoinTTL <= 0 {
		cfg.JoinTTL = DefaultJoinTTL
	}
	if cfg.DiscoverEvery <= 0 {
		cfg.DiscoverEvery = DefaultDiscoverEvery
	}
	if cfg.DiscoverRate <= 0 {
		cfg.DiscoverRate = DefaultDiscoverRate
	}
	if cfg.DiscoverBurst <= 0 {
		cfg.DiscoverBurst = DefaultDiscoverBurst
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Inventory{cfg: cfg, log: cfg.Logger.With("service", "cpinventory"), seen: map[string]sighting{},
		bucket: float64(cfg.DiscoverBurst), cache: map[string]rendered{}}, nil
}

// ErrNoConfig is returned while no install config is stored.
var ErrNoConfig = errors.New("no install config stored in the control plane; the installer stores it at handover (PUT /v1/install-config)")

// installConfig returns the stored install config, parsed once per version.
func (inv *Inventory) installConfig() (*config.Config, uint64, error) {
	var ic *fsm.InstallConfig
	inv.cfg.Cluster.View(func(s *fsm.State) { ic = s.InstallConfig })
	if ic == nil {
		return nil, 0, ErrNoConfig
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.parsed.c != nil && inv.parsed.index == ic.ModifyIndex {
		return inv.parsed.c, ic.ModifyIndex, nil
	}
	c, err := ParseConfig([]byte(ic.YAML))
	if err != nil {
		return nil, 0, err
	}
	inv.parsed = parsedConfig{index: ic.ModifyIndex, c: c}
	return c, ic.ModifyIndex, nil
}

// ParseConfig decodes and validates a stored install config.
func ParseConfig(yaml []byte) (*config.Config, error) {
	c, _, diags := config.Parse("stored install config", yaml)
	if c == nil || diags.HasErrors() {
		return nil, fmt.Errorf("the stored install config does not validate (%v); store a valid one with PUT /v1/install-config", diags.Errors())
	}
	return c, nil
}

// Lookup implements pxe.Inventory: the machine record with the client's
// MAC, else its UUID.
func (inv *Inventory) Lookup(_ context.Context, c pxe.Client) (pxe.Machine, error) {
	mac, uuid := pxe.NormalizeMAC(c.MAC), strings.ToLower(c.UUID)
	var (
		m  fsm.Machine
		ok bool
	)
	inv.cfg.Cluster.View(func(s *fsm.State) {
		if mac != "" {
			m, ok = s.MachineByMAC(mac)
		}
		if !ok && uuid != "" {
			m, ok = s.MachineByUUID(uuid)
		}
	})
	if !ok {
		return pxe.Machine{}, pxe.ErrUnknown
	}
	ic, _, err := inv.installConfig()
	if err != nil {
		return pxe.Machine{}, err
	}
	return toPXE(m, ic), nil
}

// toPXE is what the boot servers need of a machine record.
func toPXE(m fsm.Machine, c *config.Config) pxe.Machine {
	args := c.OS.KernelArgs
	if c.OS.Image == config.ImageVelaOS {
		args = strings.TrimSpace(images.VelaOSKernelArgs + " " + args)
	}
	pm := pxe.Machine{Name: m.Name, MAC: m.MAC, UUID: m.UUID, Image: c.OS.Image, KernelArgs: args, Disk: m.Disk,
		Installed: m.Disk != "" && m.State == fsm.MachineInstalled, BootToken: m.BootToken}
	if a, err := netip.ParseAddr(m.Address); err == nil && a.Is4() {
		pm.Address = a
	}
	return pm
}

// Discover implements pxe.Inventory: it records the sighting in the
// replicated state at most once per DiscoverEvery per MAC unless something
// about it changed, and at most DiscoverRate new MACs per second.
func (inv *Inventory) Discover(ctx context.Context, c pxe.Client) error {
	mac := pxe.NormalizeMAC(c.MAC)
	if mac == "" {
		return fmt.Errorf("discovered machine has no valid MAC (%q)", c.MAC)
	}
	now := inv.cfg.Now().UTC()
	d := fsm.DiscoveredMachine{MAC: mac, UUID: strings.ToLower(c.UUID), Arch: c.Arch, IP: c.IP, LastSeen: now, By: inv.cfg.Member}
	if !inv.shouldWrite(d, now) {
		return nil
	}
	_, err := inv.cfg.Cluster.Propose(ctx, fsm.TypeMachineDiscovered, fsm.Upsert[fsm.DiscoveredMachine]{Meta: inv.meta(now), Object: d})
	if errors.Is(err, fsm.ErrConflict) {
		return nil // admitted meanwhile
	}
	if err != nil {
		inv.mu.Lock()
		delete(inv.seen, mac) // try again on the next sighting
		inv.mu.Unlock()
		return fmt.Errorf("record discovered machine %s: %w", mac, err)
	}
	return nil
}

// shouldWrite applies the per-MAC interval and the global bucket.
func (inv *Inventory) shouldWrite(d fsm.DiscoveredMachine, now time.Time) bool {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	old, ok := inv.seen[d.MAC]
	changed := !ok || (d.UUID != "" && d.UUID != old.d.UUID) || (d.Arch != "" && d.Arch != old.d.Arch) || (d.IP != "" && d.IP != old.d.IP)
	if !changed && now.Sub(old.at) < inv.cfg.DiscoverEvery {
		return false
	}
	if !ok {
		inv.bucket = min(float64(inv.cfg.DiscoverBurst), inv.bucket+now.Sub(inv.refill).Seconds()*inv.cfg.DiscoverRate)
		inv.refill = now
		if inv.bucket < 1 {
			return false
		}
		inv.bucket--
		if len(inv.seen) >= maxSightings {
			clear(inv.seen)
		}
	}
	inv.seen[d.MAC] = sighting{d: d, at: now}
	return true
}

func (inv *Inventory) meta(now time.Time) fsm.Meta {
	return fsm.Meta{Actor: "member:" + inv.cfg.Member, Time: now}
}

// MarkInstalled implements pxe.Inventory: the machine boots from its disk
// from now on.
func (inv *Inventory) MarkInstalled(ctx context.Context, name string) error {
	return inv.setState(ctx, name, fsm.MachineInstalled)
}

// OnState is the boot servers' pxe.StateFunc: it logs every transition and
// records config-fetched, reported and failed in the machine record.
func (inv *Inventory) OnState(machine, mac, state, detail string) {
	inv.log.Info("machine state", "machine", machine, "mac", mac, "state", state, "detail", detail)
	switch state {
	case pxe.StateConfigFetched, pxe.StateReported, pxe.StateFailed:
	default:
		return
	}
	if machine == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := inv.setState(ctx, machine, state); err != nil {
		inv.log.Warn("recording a machine state failed", "machine", machine, "state", state, "err", err)
	}
}

// setState writes a machine's state; a machine installed on its disk stays
// installed when it reports.
func (inv *Inventory) setState(ctx context.Context, name, state string) error {
	inv.stateMu.Lock()
	defer inv.stateMu.Unlock()
	var (
		m  fsm.Machine
		ok bool
	)
	inv.cfg.Cluster.View(func(s *fsm.State) { m, ok = s.Machines[name] })
	if !ok {
		return fmt.Errorf("machine %q is not in the control plane (deleted while booting?)", name)
	}
	if m.State == state || (m.State == fsm.MachineInstalled && state == pxe.StateReported) {
		return nil
	}
	m.State = state
	_, err := inv.cfg.Cluster.Propose(ctx, fsm.TypeMachineUpsert, fsm.Upsert[fsm.Machine]{Meta: inv.meta(inv.cfg.Now().UTC()), Object: m})
	if err != nil {
		return fmt.Errorf("machine %q: record state %s: %w", name, state, err)
	}
	return nil
}

var _ pxe.Inventory = (*Inventory)(nil)
