package config

import (
	"fmt"
	"net"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Validate checks a defaulted config: every field, then the rules that span
// fields. src may be nil (the TUI), then diagnostics carry no position.
func Validate(c *Config, src *Source) Diagnostics {
	v := &validator{c: c, src: src}
	v.top()
	subnet := v.network()
	v.os()
	v.machines(subnet)
	v.discovery()
	v.sshKeys()
	v.controlPlane()
	v.people()
	v.snippets()
	v.lab()
	v.hypervisor()
	v.pxe()
	return v.diags
}

// pxe checks the day-2 boot switch against the image: only images the
// installer can copy to the members (vela-os, fcos) are served by them.
func (v *validator) pxe() {
	if d := v.c.PXE.Day2; d != nil && *d && v.c.OS.Image == ImageCustom {
		v.warn("pxe.day2", "a custom image is not copied to the members, so they cannot serve day-2 boot by themselves",
			"put os.kernel and os.initramfs on each member (relative paths are read from --boot-images) and run vela server with --boot-interface auto --boot-images DIR (a Butane snippet can), or set pxe.day2: false")
	}
}

func (v *validator) hypervisor() {
	h := v.c.Hypervisor
	if h.ReservedMemory < 256<<20 || h.ReservedMemory > 1<<40 {
		v.err("hypervisor.reserved_memory", fmt.Sprintf("%s is outside 256MiB to 1TiB", h.ReservedMemory), "keep enough for the machine itself (default 2GiB)")
	}
	if h.NodeMemoryPercent < 100 || h.NodeMemoryPercent > 400 {
		v.err("hypervisor.node_memory_percent", fmt.Sprintf("%d%% is outside 100 to 400", h.NodeMemoryPercent), "use 100 to never promise nodes more than the machine has")
	}
}

type validator struct {
	c     *Config
	src   *Source
	diags Diagnostics
}

func (v *validator) add(sev Severity, path, msg, hint string) {
	d := Diagnostic{Severity: sev, Path: path, Msg: msg, Hint: hint}
	if v.src != nil {
		d.File, d.Pos = v.src.File, v.src.Pos(path)
	}
	v.diags = append(v.diags, d)
}

func (v *validator) err(path, msg, hint string)  { v.add(Error, path, msg, hint) }
func (v *validator) warn(path, msg, hint string) { v.add(Warning, path, msg, hint) }

func (v *validator) oneOf(path, val string, allowed ...string) bool {
	for _, a := range allowed {
		if val == a {
			return true
		}
	}
	v.err(path, fmt.Sprintf("%q is not allowed", val), "use one of: "+strings.Join(allowed, ", "))
	return false
}

var labelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// dnsLabel checks a name that becomes a hostname or appears in URLs.
func (v *validator) dnsLabel(path, s string) {
	if !labelRE.MatchString(s) {
		v.err(path, fmt.Sprintf("%q is not a valid name", s),
			"use 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit")
	}
}

func (v *validator) top() {
	v.dnsLabel("name", v.c.Name)
}

func (v *validator) os() {
	o := v.c.OS
	if !v.oneOf("os.image", o.Image, ImageVelaOS, ImageFCOS, ImageCustom) {
		return
	}
	if o.Image == ImageCustom {
		if o.Kernel == "" {
			v.err("os.kernel", "missing (custom image)", "give the path of the kernel to boot")
		}
		if o.Initramfs == "" {
			v.err("os.initramfs", "missing (custom image)", "give the path of the initramfs")
		}
		return
	}
	for _, f := range [...]struct{ path, val string }{{"os.kernel", o.Kernel}, {"os.initramfs", o.Initramfs}, {"os.rootfs", o.Rootfs}} {
		if f.val != "" {
			v.err(f.path, fmt.Sprintf("only used with image: custom (image is %s)", o.Image), "remove it, or set os.image: custom")
		}
	}
}

func (v *validator) discovery() {
	d := v.c.Discovery
	v.oneOf("discovery.mode", d.Mode, DiscoveryIgnore, DiscoveryAdmit)
	switch {
	case d.Mode == DiscoveryAdmit && d.Role != RoleHypervisor:
		v.err("discovery.role", fmt.Sprintf("%q cannot be given to unknown machines", d.Role),
			"set role: hypervisor (members are always listed by hand)")
	case d.Mode == DiscoveryIgnore && d.Role != "":
		v.warn("discovery.role", "ignored with mode: ignore", "remove it, or set mode: admit")
	}
}

func (v *validator) controlPlane() {
	members := len(v.c.Members())
	want := v.c.ControlPlane.Members
	// A count the operator did not write is the number of member machines:
	// point at those, not at a line that does not exist.
	countPath := "control_plane.members"
	if v.src != nil && !v.src.Has(countPath) {
		countPath = "machines"
	}
	switch {
	case members == 0:
		v.err("machines", "no machine has role member or both", "give 1, 3 or 5 machines role: member (or both)")
	case want != 1 && want != 3 && want != 5:
		hint := "use 1, 3 or 5 members"
		if want%2 == 0 {
			hint = fmt.Sprintf("an even count tolerates no more failures than %d; use %d or %d members", want-1, want-1, want+1)
		}
		v.err(countPath, fmt.Sprintf("%d members (machines with role member or both)", want), hint)
	case want != members:
		v.err("control_plane.members", fmt.Sprintf("says %d but %d machines have role member or both", want, members),
			"make them agree: change the roles or this count")
	}
	v.bootstrapAddress()
	if len(v.c.Hypervisors()) == 0 && v.c.Discovery.Mode != DiscoveryAdmit {
		v.err("machines", "no machine has role hypervisor or both, so tenant nodes have nowhere to run",
			"give at least one machine role: hypervisor (or both)")
	}
}

func (v *validator) people() {
	v.dnsLabel("admin.name", v.c.Admin.Name)
	t := v.c.Tenant
	if t.Name != "" {
		v.dnsLabel("tenant.name", t.Name)
	}
	if t.Cluster == nil {
		return
	}
	if t.Name == "" {
		v.err("tenant.cluster", "a first cluster needs a first tenant", "set tenant.name")
	}
	v.dnsLabel("tenant.cluster.name", t.Cluster.Name)
	if t.Cluster.Nodes < 1 || t.Cluster.Nodes > 10 {
		v.err("tenant.cluster.nodes", fmt.Sprintf("%d nodes", t.Cluster.Nodes), "use 1 to 10 (the default per-cluster quota)")
	}
}

func (v *validator) snippets() {
	seen := map[string]int{}
	for i, s := range v.c.Butane {
		p := fmt.Sprintf("butane[%d]", i)
		v.dnsLabel(p+".name", s.Name)
		if j, dup := seen[s.Name]; dup {
			v.err(p+".name", fmt.Sprintf("%q is also the name of butane[%d]", s.Name, j), "give each snippet its own name")
		}
		seen[s.Name] = i
		if (s.Inline == "") == (s.Path == "") {
			v.err(p, "needs exactly one of inline or path", "put the Butane YAML inline, or point path at a file")
		}
	}
}

func (v *validator) lab() {
	l := v.c.Lab
	if l == nil {
		return
	}
	if l.Count < 1 || l.Count > 9 {
		v.err("lab.count", fmt.Sprintf("%d VMs", l.Count), "use 1 to 9 VMs")
	} else if len(v.c.Machines) != l.Count {
		v.err("lab.count", fmt.Sprintf("says %d but machines lists %d", l.Count, len(v.c.Machines)),
			"make them agree, or leave machines out to have lab-1..N generated")
	}
	if !validIfName(l.Bridge) {
		v.err("lab.bridge", fmt.Sprintf("%q is not a valid interface name", l.Bridge), "use 1-15 characters, e.g. vela-lab0")
	}
	if v.c.Network.Interface != l.Bridge {
		v.err("network.interface", fmt.Sprintf("%q, but the lab boots machines on bridge %q", v.c.Network.Interface, l.Bridge),
			"leave network.interface out in a lab config")
	}
	if l.Memory < 1<<30 {
		v.err("lab.memory", fmt.Sprintf("%s per VM is too little for vela-os", l.Memory), "give each VM at least 1GiB")
	}
	if l.CPUs < 1 || l.CPUs > 64 {
		v.err("lab.cpus", fmt.Sprintf("%d vCPUs", l.CPUs), "use 1 to 64")
	}
	v.oneOf("lab.accel", l.Accel, AccelAuto, AccelKVM, AccelTCG)
	v.oneOf("lab.firmware", l.Firmware, FirmwareBIOS, FirmwareUEFI)
	for i, m := range v.c.Machines {
		if m.Disk != "" {
			v.err(fmt.Sprintf("machines[%d].disk", i), "lab machines run live (diskless)", "remove disk in a lab config")
		}
		if m.MAC == "" {
			v.err(fmt.Sprintf("machines[%d].mac", i), "missing: a lab VM gets the MAC of its machine", "add a MAC such as "+LabMAC(i+1))
		}
	}
}

// parseMAC accepts the usual colon form of an EUI-48 unicast address.
func parseMAC(s string) (net.HardwareAddr, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return nil, fmt.Errorf("%q is not a MAC address", s)
	}
	if hw[0]&1 == 1 {
		return nil, fmt.Errorf("%s is a multicast address", hw)
	}
	return hw, nil
}

func (v *validator) sshKeys() {
	if len(v.c.SSHAuthorizedKeys) == 0 {
		v.warn("ssh_authorized_keys", "no SSH keys, so nobody can log in to the machines",
			"add your public key (e.g. the line in ~/.ssh/id_ed25519.pub)")
	}
	for i, k := range v.c.SSHAuthorizedKeys {
		if strings.ContainsAny(k, "\n\r") {
			v.err(fmt.Sprintf("ssh_authorized_keys[%d]", i), "holds a line break", "give one key per list item")
			continue
		}
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k)); err != nil {
			v.err(fmt.Sprintf("ssh_authorized_keys[%d]", i), "not an OpenSSH public key",
				"paste the whole line of a .pub file, e.g. ssh-ed25519 AAAA... user@host")
		}
	}
}

// bootstrapAddress: the first member bootstraps the control plane and every
// other machine joins it by address, so that address must be fixed.
func (v *validator) bootstrapAddress() {
	ms := v.c.Members()
	if len(ms) == 0 || ms[0].Static() || (len(v.c.Machines) < 2 && v.c.Discovery.Mode != DiscoveryAdmit) {
		return
	}
	for i, m := range v.c.Machines {
		if m.Name == ms[0].Name {
			v.err(fmt.Sprintf("machines[%d].address", i),
				fmt.Sprintf("%s bootstraps the control plane (the first machine with role member or both), but takes a DHCP address, so the other machines cannot find it", m.Name),
				"give it a static address outside the DHCP pool")
			return
		}
	}
}
