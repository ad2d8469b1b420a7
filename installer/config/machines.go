package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// NormalizeMAC returns the canonical lowercase colon form of a MAC, or "".
func NormalizeMAC(s string) string {
	hw, err := parseMAC(s)
	if err != nil {
		return ""
	}
	return hw.String()
}

// machines checks each machine and the rules across them: unique names,
// MACs, UUIDs and addresses; addresses inside the subnet, outside the pool.
func (v *validator) machines(p netip.Prefix) {
	havePrefix := p.IsValid()
	var pool *Range
	if r, err := ParseRange(v.c.Network.DHCP.Pool); err == nil && v.c.Network.DHCP.Mode == DHCPFull {
		pool = &r
	}
	names, macs, uuids, addrs := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	dup := func(seen map[string]int, key, path, what string, i int) {
		if key == "" {
			return
		}
		if j, ok := seen[key]; ok {
			v.err(path, fmt.Sprintf("%s %s is also machines[%d]'s (%s)", what, key, j, v.c.Machines[j].Name),
				"every machine needs its own "+what)
			return
		}
		seen[key] = i
	}
	for i, m := range v.c.Machines {
		p0 := fmt.Sprintf("machines[%d]", i)
		if m.Name == "" {
			v.err(p0+".name", "missing", "give the machine a hostname, e.g. rack1-node3")
		} else {
			v.dnsLabel(p0+".name", m.Name)
			dup(names, m.Name, p0+".name", "name", i)
		}
		if m.MAC == "" && m.UUID == "" {
			v.err(p0, "neither mac nor uuid is set, so the machine cannot be recognised when it boots",
				"add its boot NIC's mac (or its SMBIOS uuid)")
		}
		if m.MAC != "" {
			if _, err := parseMAC(m.MAC); err != nil {
				v.err(p0+".mac", err.Error(), "write it like 52:54:00:12:34:56")
			} else {
				dup(macs, NormalizeMAC(m.MAC), p0+".mac", "MAC", i)
			}
		}
		if m.UUID != "" {
			if !uuidRE.MatchString(m.UUID) {
				v.err(p0+".uuid", fmt.Sprintf("%q is not a UUID", m.UUID), "write it like 4c4c4544-0042-3510-8052-b4c04f4e4a31 (`dmidecode -s system-uuid`)")
			} else {
				dup(uuids, strings.ToLower(m.UUID), p0+".uuid", "UUID", i)
			}
		}
		if m.Role == "" {
			v.err(p0+".role", "missing", "set role: member, hypervisor or both")
		} else {
			v.oneOf(p0+".role", m.Role, RoleMember, RoleHypervisor, RoleBoth)
		}
		if m.Static() {
			if a, ok := v.addrIn(p0+".address", m.Address, p, havePrefix); ok {
				dup(addrs, a.String(), p0+".address", "address", i)
				if pool != nil && pool.Contains(a) {
					v.err(p0+".address", fmt.Sprintf("%s is inside the DHCP pool %s", a, v.c.Network.DHCP.Pool),
						"pick a static address outside the pool, or shrink the pool")
				}
				if gw := v.c.Network.Gateway; gw == a.String() {
					v.err(p0+".address", fmt.Sprintf("%s is the gateway", a), "pick another address")
				}
			}
		}
		if m.Static() && v.c.Network.DHCP.Mode == DHCPProxy {
			v.warn(p0+".address", "in proxy mode the other DHCP server must not hand this address out",
				"reserve it there too")
		}
		if !m.Static() && v.c.Network.DHCP.Mode == DHCPOff {
			v.warn(p0+".address", "takes a lease, but Vela runs no DHCP (mode off)", "make sure another DHCP server serves this network")
		}
		if m.Disk != "" && !strings.HasPrefix(m.Disk, "/dev/") {
			v.err(p0+".disk", fmt.Sprintf("%q is not a device path", m.Disk), "use a path like /dev/sda or /dev/disk/by-id/...; leave it out to run live")
		}
		switch {
		case m.DataDisk == "":
		case !strings.HasPrefix(m.DataDisk, "/dev/") || strings.ContainsAny(m.DataDisk, " \t\n'\"\\$`"):
			v.err(p0+".data_disk", fmt.Sprintf("%q is not a device path", m.DataDisk), "use a path like /dev/sdb or /dev/disk/by-id/...")
		case !m.IsHypervisor():
			v.err(p0+".data_disk", "only a hypervisor keeps node disks", "remove data_disk, or make the role hypervisor or both")
		case m.DataDisk == m.Disk:
			v.err(p0+".data_disk", fmt.Sprintf("%s is also the install disk", m.DataDisk), "use another device for the node disks")
		}
	}
}
