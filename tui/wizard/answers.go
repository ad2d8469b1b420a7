package wizard

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vela-appliance/vela/installer/config"
)

// Targets: where the appliance runs.
const (
	TargetRack = "rack" // bare metal on a boot network
	TargetLab  = "lab"  // qemu VMs on a private bridge on this host
)

// Answers are the operator's answers as typed. Config turns them into the
// install config; nothing else interprets them.
type Answers struct {
	Target                                       string
	Name                                         string
	Interface, Address, DHCPMode, Pool, Gateway  string
	DNS                                          string // comma or space separated
	LabBridge                                    string
	Image, Kernel, Initramfs, Rootfs, KernelArgs string
	Machines                                     []config.Machine
	SSHKeys                                      string // one key per line
	SSHKeyFile                                   string // read into SSHKeys by the screen
	Admin, Tenant, Cluster, Nodes                string
	SavePath                                     string
}

// Config builds the install config the answers describe (not defaulted).
func (a Answers) Config() *config.Config {
	c := &config.Config{
		Version: config.SchemaVersion,
		Name:    a.Name,
		Network: config.Network{
			Address: strings.TrimSpace(a.Address),
			DHCP:    config.DHCP{Mode: a.DHCPMode, Pool: strings.TrimSpace(a.Pool)},
			Gateway: strings.TrimSpace(a.Gateway),
			DNS:     fields(a.DNS),
		},
		OS:       config.OS{Image: a.Image, KernelArgs: strings.TrimSpace(a.KernelArgs)},
		Machines: append([]config.Machine(nil), a.Machines...),
		Admin:    config.Admin{Name: strings.TrimSpace(a.Admin)},
		Tenant:   config.Tenant{Name: strings.TrimSpace(a.Tenant)},
	}
	if c.Network.DHCP.Mode != config.DHCPFull {
		c.Network.DHCP.Pool = ""
	}
	if a.Image == config.ImageCustom {
		c.OS.Kernel, c.OS.Initramfs, c.OS.Rootfs = strings.TrimSpace(a.Kernel), strings.TrimSpace(a.Initramfs), strings.TrimSpace(a.Rootfs)
	}
	if a.Target == TargetLab {
		c.Lab = &config.Lab{Bridge: strings.TrimSpace(a.LabBridge)}
	} else {
		c.Network.Interface = strings.TrimSpace(a.Interface)
	}
	for _, l := range strings.Split(a.SSHKeys, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			c.SSHAuthorizedKeys = append(c.SSHAuthorizedKeys, l)
		}
	}
	if name := strings.TrimSpace(a.Cluster); name != "" {
		n, err := strconv.Atoi(strings.TrimSpace(a.Nodes))
		if err != nil && strings.TrimSpace(a.Nodes) != "" {
			n = -1 // not a number: the validator says what it wants
		}
		c.Tenant.Cluster = &config.TenantCluster{Name: name, Nodes: n}
	}
	return c
}

func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// Defaulted returns the config with installer/config's defaults applied,
// as the loader would see the saved file.
func (a Answers) Defaulted() *config.Config {
	c := a.Config()
	config.ApplyDefaults(c)
	return c
}

// Diagnostics validates the answers with installer/config's validator.
func (a Answers) Diagnostics() config.Diagnostics { return config.Validate(a.Defaulted(), nil) }

// Check returns the validator's errors about path (and below it) as one
// error, or nil: what a field shows next to itself.
func (a Answers) Check(paths ...string) error {
	ds := a.Diagnostics().Errors()
	var msgs []string
	for _, p := range paths {
		for _, d := range ds.For(p) {
			msgs = append(msgs, message(d))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(dedup(msgs), "\n"))
}

// message is a diagnostic without the file position (the field shows it).
func message(d config.Diagnostic) string {
	s := d.Msg
	if d.Hint != "" {
		s += "; " + d.Hint
	}
	if d.Path != "" {
		s = d.Path + ": " + s
	}
	return s
}

func dedup(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// machineName proposes a hostname for a discovered MAC: "m-" and its last
// three bytes. The validator still has the last word on it.
func machineName(mac string) string {
	h := strings.ReplaceAll(config.NormalizeMAC(mac), ":", "")
	if len(h) < 6 {
		return "machine"
	}
	return "m-" + h[len(h)-6:]
}

// nextName returns base, or base-2, base-3... so that it is unused.
func nextName(ms []config.Machine, base string) string {
	used := map[string]bool{}
	for _, m := range ms {
		used[m.Name] = true
	}
	name := base
	for i := 2; used[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	return name
}
