package preflight

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vela-appliance/vela/installer/config"
)

// checkLabBridge: the lab bridge must not exist, or be ours from an earlier
// run (it carries the lab's address); any other interface of that name is
// someone else's and is never touched.
func checkLabBridge(c *config.Config, h Host) Result {
	r := Result{Check: "lab bridge"}
	want, _ := netip.ParsePrefix(c.Network.Address)
	addrs, err := h.InterfaceAddrs(c.Lab.Bridge)
	switch {
	case errors.Is(err, ErrNoInterface):
		r.OK, r.Msg = true, fmt.Sprintf("%s will be created", c.Lab.Bridge)
	case err != nil:
		r.Msg, r.Fix = fmt.Sprintf("reading %s: %v", c.Lab.Bridge, err), "remove it with `vela lab down` or pick another lab.bridge"
	default:
		for _, a := range addrs {
			if a == want {
				r.OK, r.Msg = true, fmt.Sprintf("%s exists from an earlier run; it is reused", c.Lab.Bridge)
				return r
			}
		}
		r.Msg = fmt.Sprintf("an interface %s exists without the lab address %s", c.Lab.Bridge, c.Network.Address)
		r.Fix = "pick another lab.bridge; Vela never changes an interface it did not create"
	}
	return r
}

// checkLabSubnet: the lab's private subnet must not overlap a route of the
// host (other than the lab bridge's own), or the host would send lab traffic
// elsewhere (and other traffic into the lab).
func checkLabSubnet(c *config.Config, h Host) Result {
	r := Result{Check: "lab subnet"}
	p, err := netip.ParsePrefix(c.Network.Address)
	if err != nil {
		r.Msg = "network.address is not valid"
		return r
	}
	p = p.Masked()
	routes, err := h.Routes()
	if err != nil {
		r.Msg, r.Fix = fmt.Sprintf("reading the routing table: %v", err), "check /proc/net/route"
		return r
	}
	for _, rt := range routes {
		if rt.Interface == c.Lab.Bridge || rt.Dst.Bits() == 0 {
			continue // the lab's own route, or the default route
		}
		if rt.Dst.Overlaps(p) {
			r.Msg = fmt.Sprintf("lab subnet %s overlaps the host route %s on %s", p, rt.Dst, rt.Interface)
			r.Fix = "pick another private /24 for network.address (and dhcp.pool), e.g. 10.78.0.1/24"
			return r
		}
	}
	r.OK, r.Msg = true, fmt.Sprintf("%s clashes with no host route", p)
	return r
}

// checkLabMemory: the VMs must fit in the memory the host has available,
// keeping 1 GiB for the host itself.
func checkLabMemory(c *config.Config, h Host) Result {
	r := Result{Check: "lab memory"}
	need := uint64(c.Lab.Memory) * uint64(len(c.Machines))
	avail, err := h.MemAvailable()
	if err != nil {
		r.Msg, r.Warn = fmt.Sprintf("cannot read available memory: %v", err), true
		return r
	}
	if need+1<<30 > avail {
		r.Msg = fmt.Sprintf("%d VMs x %s = %s, but only %s is available", len(c.Machines), c.Lab.Memory, gib(need), gib(avail))
		r.Fix = "lower lab.memory or lab.count"
		return r
	}
	r.OK, r.Msg = true, fmt.Sprintf("%s for VMs of %s available", gib(need), gib(avail))
	return r
}
