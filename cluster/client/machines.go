package client

import (
	"context"
	"net/url"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/fsm"
)

// Machines lists the machines of the replicated boot inventory.
func (c *Client) Machines(ctx context.Context) ([]fsm.Machine, error) {
	var out []fsm.Machine
	return out, c.Do(ctx, "GET", "/v1/machines", nil, &out)
}

// DeleteMachine deletes a machine: it is no longer network-booted.
func (c *Client) DeleteMachine(ctx context.Context, name string) error {
	return c.Do(ctx, "DELETE", "/v1/machines/"+url.PathEscape(name), nil, nil)
}

// AdmitMachine admits a machine by MAC (discovery.mode: admit); its next
// network boot installs it.
func (c *Client) AdmitMachine(ctx context.Context, req api.AdmitRequest) (fsm.Machine, error) {
	var out fsm.Machine
	return out, c.Do(ctx, "POST", "/v1/machines/admit", req, &out)
}

// DiscoveredMachines lists machines that network-booted but are in no
// machine record.
func (c *Client) DiscoveredMachines(ctx context.Context) ([]fsm.DiscoveredMachine, error) {
	var out []fsm.DiscoveredMachine
	return out, c.Do(ctx, "GET", "/v1/machines/discovered", nil, &out)
}

// RecordDiscovered records a machine seen on the boot network.
func (c *Client) RecordDiscovered(ctx context.Context, d fsm.DiscoveredMachine) (fsm.DiscoveredMachine, error) {
	var out fsm.DiscoveredMachine
	return out, c.Do(ctx, "POST", "/v1/machines/discovered", d, &out)
}

// ForgetDiscovered deletes a discovered machine's entry.
func (c *Client) ForgetDiscovered(ctx context.Context, mac string) error {
	return c.Do(ctx, "DELETE", "/v1/machines/discovered/"+url.PathEscape(mac), nil, nil)
}

// PutInstallConfig stores the install config (its YAML text with every
// snippet inlined: see cpinventory.PortableConfig) and records the machines
// it lists. The installer calls it at handover.
func (c *Client) PutInstallConfig(ctx context.Context, yaml []byte) (fsm.InstallConfig, error) {
	var out fsm.InstallConfig
	return out, c.Do(ctx, "PUT", "/v1/install-config", api.InstallConfigRequest{YAML: string(yaml)}, &out)
}

// InstallConfig returns the stored install config.
func (c *Client) InstallConfig(ctx context.Context) (fsm.InstallConfig, error) {
	var out fsm.InstallConfig
	return out, c.Do(ctx, "GET", "/v1/install-config", nil, &out)
}
