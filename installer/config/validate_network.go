package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// The network section's checks: the boot subnet, addresses, the pool and
// the ports.

func (v *validator) network() netip.Prefix {
	n := v.c.Network
	if n.Interface == "" {
		v.err("network.interface", "missing", "name the host interface on the boot network, e.g. eth1 (`ip -br link` lists them)")
	} else if !validIfName(n.Interface) {
		v.err("network.interface", fmt.Sprintf("%q is not a valid interface name", n.Interface),
			"interface names are 1-15 characters without spaces or /")
	}
	prefix, ok := v.hostPrefix("network.address", n.Address)
	modeOK := v.oneOf("network.dhcp.mode", n.DHCP.Mode, DHCPFull, DHCPProxy, DHCPOff)
	if time.Duration(n.DHCP.LeaseTime) < time.Minute {
		v.err("network.dhcp.lease_time", fmt.Sprintf("%s is too short", n.DHCP.LeaseTime), "use at least 1m; 1h is usual")
	}
	switch {
	case n.DHCP.Mode == DHCPFull && n.DHCP.Pool == "":
		v.err("network.dhcp.pool", "missing (full mode hands out addresses from it)",
			"add a range inside the subnet, e.g. pool: 10.0.0.100-10.0.0.199")
	case modeOK && n.DHCP.Mode != DHCPFull && n.DHCP.Pool != "":
		v.warn("network.dhcp.pool", fmt.Sprintf("ignored in %s mode", n.DHCP.Mode), "remove it, or use mode: full")
	}
	if ok && n.DHCP.Mode == DHCPFull && n.DHCP.Pool != "" {
		v.pool(prefix)
	}
	if n.Gateway != "" {
		v.addrIn("network.gateway", n.Gateway, prefix, ok)
	}
	for i, d := range n.DNS {
		if a, err := netip.ParseAddr(d); err != nil || !a.Is4() {
			v.err(fmt.Sprintf("network.dns[%d]", i), fmt.Sprintf("%q is not an IPv4 address", d), "write it like 10.0.0.53")
		}
	}
	v.ports()
	if !ok {
		return netip.Prefix{}
	}
	return prefix
}

func validIfName(s string) bool {
	return len(s) >= 1 && len(s) <= 15 && !strings.ContainsAny(s, " /\t\n:") && s != "." && s != ".."
}

// hostPrefix checks an address/prefix naming a host of an IPv4 subnet.
func (v *validator) hostPrefix(path, s string) (netip.Prefix, bool) {
	if s == "" {
		v.err(path, "missing", "write the seed's address with its prefix length, e.g. 10.0.0.1/24")
		return netip.Prefix{}, false
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		v.err(path, fmt.Sprintf("%q is not an IPv4 address with a prefix length", s), "write it like 10.0.0.1/24")
		return netip.Prefix{}, false
	}
	if p.Bits() > 30 || p.Bits() < 8 {
		v.err(path, fmt.Sprintf("a /%d subnet", p.Bits()), "use a prefix length between /8 and /30")
		return netip.Prefix{}, false
	}
	if p.Addr() == p.Masked().Addr() || p.Addr() == broadcast(p) {
		v.err(path, fmt.Sprintf("%s is the subnet's network or broadcast address", p.Addr()), "pick a host address inside the subnet")
		return netip.Prefix{}, false
	}
	return p, true
}

func broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	n |= (1 << (32 - p.Bits())) - 1
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// addrIn checks an IPv4 host address inside the boot subnet (when known).
func (v *validator) addrIn(path, s string, p netip.Prefix, havePrefix bool) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		v.err(path, fmt.Sprintf("%q is not an IPv4 address", s), "write it like 10.0.0.21")
		return netip.Addr{}, false
	}
	if !havePrefix {
		return a, true
	}
	if !p.Contains(a) {
		v.err(path, fmt.Sprintf("%s is outside the boot subnet %s", a, p.Masked()), "use an address inside the subnet, or change network.address")
		return a, false
	}
	if a == p.Masked().Addr() || a == broadcast(p) {
		v.err(path, fmt.Sprintf("%s is the subnet's network or broadcast address", a), "pick a host address")
		return a, false
	}
	if a == p.Addr() {
		v.err(path, fmt.Sprintf("%s is the seed's own address (network.address)", a), "pick another address")
		return a, false
	}
	return a, true
}

// Range is an inclusive IPv4 range.
type Range struct{ First, Last netip.Addr }

// Contains tells whether a lies within the range.
func (r Range) Contains(a netip.Addr) bool { return r.First.Compare(a) <= 0 && a.Compare(r.Last) <= 0 }

// ParseRange parses "FIRST-LAST".
func ParseRange(s string) (Range, error) {
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := netip.ParseAddr(strings.TrimSpace(lo))
	b, err2 := netip.ParseAddr(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil || !a.Is4() || !b.Is4() {
		return Range{}, fmt.Errorf("%q is not a range", s)
	}
	if b.Less(a) {
		return Range{}, fmt.Errorf("range %q ends before it starts", s)
	}
	return Range{a, b}, nil
}

func (v *validator) pool(p netip.Prefix) {
	const path = "network.dhcp.pool"
	r, err := ParseRange(v.c.Network.DHCP.Pool)
	if err != nil {
		v.err(path, err.Error(), "write it as FIRST-LAST, e.g. 10.0.0.100-10.0.0.199")
		return
	}
	if !p.Contains(r.First) || !p.Contains(r.Last) {
		v.err(path, fmt.Sprintf("range is not inside the boot subnet %s", p.Masked()), "pick a range inside the subnet")
		return
	}
	if r.Contains(p.Addr()) {
		v.err(path, fmt.Sprintf("range includes the seed's own address %s", p.Addr()), "start the pool above it")
	}
	if r.Contains(p.Masked().Addr()) || r.Contains(broadcast(p)) {
		v.err(path, "range includes the subnet's network or broadcast address", "keep the pool inside the host addresses")
	}
	if gw, err := netip.ParseAddr(v.c.Network.Gateway); err == nil && r.Contains(gw) {
		v.err(path, fmt.Sprintf("range includes the gateway %s", gw), "move the pool or the gateway")
	}
}

func (v *validator) ports() {
	p := v.c.Network.Ports
	for _, f := range []struct {
		name string
		val  int
	}{{"network.ports.dhcp", p.DHCP}, {"network.ports.tftp", p.TFTP}, {"network.ports.http", p.HTTP},
		{"control_plane.api_port", v.c.ControlPlane.APIPort}, {"control_plane.raft_port", v.c.ControlPlane.RaftPort}} {
		if f.val < 1 || f.val > 65535 {
			v.err(f.name, fmt.Sprintf("port %d is out of range", f.val), "use 1-65535")
		}
	}
	if p.DHCP == p.TFTP {
		v.err("network.ports.tftp", fmt.Sprintf("port %d is also the DHCP port", p.TFTP), "give DHCP and TFTP different UDP ports")
	}
	if v.c.ControlPlane.APIPort == v.c.ControlPlane.RaftPort {
		v.err("control_plane.raft_port", "same as api_port", "give the API and Raft different ports")
	}
	if t := time.Duration(v.c.ControlPlane.RaftTimeout); t != 0 && (t < 100*time.Millisecond || t > time.Minute) {
		v.err("control_plane.raft_timeout", fmt.Sprintf("%s is outside 100ms to 1m", v.c.ControlPlane.RaftTimeout), "leave it out (600ms; 5s in a lab), or use 1s-10s for slow or emulated machines")
	}
}
