package cpinventory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
	"github.com/vela-appliance/vela/ignition"
	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/pxe"
)

// rendered is one machine's config as served, with what it was made from.
type rendered struct {
	key     string // the inputs it depends on
	tokenID string // the join token inside
	config  []byte
}

// tokenMargin: a cached config whose join token expires sooner than this
// is rendered again with a new one.
const tokenMargin = 10 * time.Minute

// Config implements httpboot.ConfigSource. It renders a machine's config
// once and serves the same bytes until the join token inside is used or
// about to expire, or the machine record or the install config changes.
func (inv *Inventory) Config(ctx context.Context, pm pxe.Machine) ([]byte, error) {
	inv.renderMu.Lock()
	defer inv.renderMu.Unlock()
	c, cfgIndex, err := inv.installConfig()
	if err != nil {
		return nil, err
	}
	var (
		m      fsm.Machine
		ok     bool
		caCert string
		tok    fsm.JoinToken
	)
	cached, haveCached := inv.cache[pm.Name]
	inv.cfg.Cluster.View(func(s *fsm.State) {
		m, ok = s.Machines[pm.Name]
		caCert = s.Info.CACert
		tok = s.JoinTokens[cached.tokenID]
	})
	if !ok {
		return nil, fmt.Errorf("machine %q is not in the control plane (deleted while booting?)", pm.Name)
	}
	key := fmt.Sprintf("%s|%s|%s|%s|%s|%s|%d|%s", m.Name, m.MAC, m.UUID, m.Role, m.Address, m.Disk, cfgIndex, inv.cfg.BootURL)
	now := inv.cfg.Now().UTC()
	if haveCached && cached.key == key && tok.UsedBy == "" && tok.Expires.After(now.Add(tokenMargin)) {
		return cached.config, nil
	}
	role := fsm.JoinAgent
	if m.Role == config.RoleMember || m.Role == config.RoleBoth {
		role = fsm.JoinMember
	}
	secret, id, hash := pki.NewToken(pki.PrefixJoin)
	rec := fsm.JoinToken{ID: id, Hash: hash, Role: role, Created: now, Expires: now.Add(inv.cfg.JoinTTL)}
	if _, err := inv.cfg.Cluster.Propose(ctx, fsm.TypeJoinTokenCreate, fsm.Upsert[fsm.JoinToken]{Meta: inv.meta(now), Object: rec}); err != nil {
		return nil, fmt.Errorf("machine %q: create its join token: %w", m.Name, err)
	}
	mc := inv.configFor(c, m)
	out, err := ignition.Render(ignition.Input{Config: mc, Machine: m.Name, BootURL: inv.cfg.BootURL,
		VelaSHA512: inv.cfg.VelaSHA512, CACert: []byte(caCert), JoinToken: secret, BootImage: inv.cfg.BootImage,
		NodeImageSHA512: inv.cfg.NodeImageSHA512})
	if err != nil {
		return nil, fmt.Errorf("render machine %q's config: %w", m.Name, err)
	}
	if me, _ := mc.Machine(m.Name); me.IsHypervisor() && inv.cfg.NodeImageSHA512 == "" {
		inv.log.Warn("hypervisor rendered without the node image: its agent cannot start nodes; copy the packed node image to "+
			ignition.NodeImagePath+" on every member, restart vela-server on the leader (docs/pxe.md, Day-2 runbook), then power-cycle the machine",
			"machine", m.Name)
	}
	sum := sha256.Sum256(out)
	inv.log.Info("ignition config rendered", "machine", m.Name, "sha256", hex.EncodeToString(sum[:]), "join_token", id, "role", role)
	inv.cache[m.Name] = rendered{key: key, tokenID: id, config: out}
	return out, nil
}

// configFor is the install config as machine m's config is rendered from:
// the boot network address is this member's (the seed is gone), m is in
// machines with its record's values, and this member, when it is one of the
// machines with a fixed address, comes first among the members so that
// new machines join through it.
func (inv *Inventory) configFor(c *config.Config, m fsm.Machine) *config.Config {
	cp := *c
	cp.Network.Address = inv.cfg.BootAddress.String()
	cp.Machines = slices.Clone(c.Machines)
	cm := config.Machine{Name: m.Name, MAC: m.MAC, UUID: m.UUID, Role: m.Role, Address: m.Address, Disk: m.Disk}
	if cm.Role == "" {
		cm.Role = config.RoleHypervisor
	}
	if i := slices.IndexFunc(cp.Machines, func(x config.Machine) bool { return x.Name == m.Name }); i >= 0 {
		cp.Machines[i] = cm
	} else {
		cp.Machines = append(cp.Machines, cm)
	}
	if i := slices.IndexFunc(cp.Machines, func(x config.Machine) bool { return x.Name == inv.cfg.Member }); i > 0 && inv.cfg.Member != m.Name {
		if self := cp.Machines[i]; self.IsMember() && self.Static() {
			cp.Machines = append([]config.Machine{self}, slices.Delete(cp.Machines, i, i+1)...)
		}
	}
	return &cp
}
