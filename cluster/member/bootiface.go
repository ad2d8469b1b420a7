package member

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// bootIface is one network interface and its addresses, as the boot
// interface is chosen from (net.Interfaces, or a fake list in tests).
type bootIface struct {
	Name  string
	Addrs []netip.Addr
}

// listIfaces lists the interfaces of this machine.
type listIfaces func() ([]bootIface, error)

// systemIfaces lists this machine's interfaces with their IP addresses.
func systemIfaces() ([]bootIface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing network interfaces: %w", err)
	}
	var out []bootIface
	for _, ifi := range ifs {
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("addresses of %s: %w", ifi.Name, err)
		}
		bi := bootIface{Name: ifi.Name}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
					bi.Addrs = append(bi.Addrs, ip.Unmap())
				}
			}
		}
		out = append(out, bi)
	}
	return out, nil
}

// bootAddressFrom finds the boot interface and its IPv4 address inside the
// boot network (the install config's network.address), with that network's
// prefix length. iface "auto" (what the installer renders) picks the
// interface that has such an address: the one holding prefer (the member's
// API address) when several do. On the named or chosen interface, prefer
// wins over its other addresses in the network, else the first.
func bootAddressFrom(list listIfaces, iface, network string, prefer netip.Addr) (string, netip.Prefix, error) {
	want, err := netip.ParsePrefix(network)
	if err != nil {
		return "", netip.Prefix{}, fmt.Errorf("install config network.address %q: %w", network, err)
	}
	want = want.Masked()
	ifs, err := list()
	if err != nil {
		return "", netip.Prefix{}, fmt.Errorf("--boot-interface %s: %w", iface, err)
	}
	inNet := func(bi bootIface) []netip.Addr {
		var found []netip.Addr
		for _, ip := range bi.Addrs {
			if ip.Is4() && want.Contains(ip) {
				found = append(found, ip)
			}
		}
		return found
	}
	var chosen *bootIface
	if iface == "auto" {
		var cands []bootIface
		for _, bi := range ifs {
			if found := inNet(bi); len(found) > 0 {
				if prefer.IsValid() && slices.Contains(found, prefer) {
					cands = []bootIface{bi}
					break
				}
				cands = append(cands, bi)
			}
		}
		switch len(cands) {
		case 0:
			return "", netip.Prefix{}, fmt.Errorf("--boot-interface auto: no interface has an IPv4 address in the boot network %s (have: %s); "+
				"give the boot NIC an address there, or name it with --boot-interface NAME", want, describeIfaces(ifs))
		case 1:
			chosen = &cands[0]
		default:
			names := make([]string, len(cands))
			for i, c := range cands {
				names[i] = c.Name
			}
			return "", netip.Prefix{}, fmt.Errorf("--boot-interface auto: %s all have an IPv4 address in the boot network %s; name the one to serve on with --boot-interface NAME",
				strings.Join(names, ", "), want)
		}
	} else {
		i := slices.IndexFunc(ifs, func(bi bootIface) bool { return bi.Name == iface })
		if i < 0 {
			return "", netip.Prefix{}, fmt.Errorf("--boot-interface %s: no such interface on this machine (have: %s); use auto or one of those", iface, describeIfaces(ifs))
		}
		chosen = &ifs[i]
	}
	found := inNet(*chosen)
	if len(found) == 0 {
		return "", netip.Prefix{}, errors.New("--boot-interface " + iface + " has no IPv4 address in the boot network " + want.String() +
			"; add one (ip addr add ADDR/" + strconv.Itoa(want.Bits()) + " dev " + iface + ") or pick the interface on that network")
	}
	addr := found[0]
	if prefer.IsValid() && slices.Contains(found, prefer) {
		addr = prefer
	}
	return chosen.Name, netip.PrefixFrom(addr, want.Bits()), nil
}

// describeIfaces is "eth0 10.0.0.5, eth1 (no IPv4)" for error messages.
func describeIfaces(ifs []bootIface) string {
	var parts []string
	for _, bi := range ifs {
		var v4 []string
		for _, a := range bi.Addrs {
			if a.Is4() {
				v4 = append(v4, a.String())
			}
		}
		if len(v4) == 0 {
			v4 = []string{"(no IPv4)"}
		}
		parts = append(parts, bi.Name+" "+strings.Join(v4, " "))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
