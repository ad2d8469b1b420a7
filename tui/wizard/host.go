package wizard

import (
	"net"
	"net/netip"

	"github.com/vela-appliance/vela/installer/preflight"
)

// Interface is one network interface of the host.
type Interface struct {
	Name         string
	Addrs        []netip.Prefix // IPv4 only
	DefaultRoute bool           // the host's default route leaves through it
	Up           bool
}

// Host is what the wizard reads from the machine it runs on, to pre-fill
// answers and offer real choices.
type Host interface {
	Interfaces() ([]Interface, error)
}

// System is the Host of this machine.
type System struct{}

// Interfaces lists the host's interfaces except loopback.
func (System) Interfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	routes, _ := preflight.System{}.Routes()
	def := map[string]bool{}
	for _, r := range routes {
		if r.Dst.Bits() == 0 {
			def[r.Interface] = true
		}
	}
	var out []Interface
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback != 0 {
			continue
		}
		it := Interface{Name: ifi.Name, DefaultRoute: def[ifi.Name], Up: ifi.Flags&net.FlagUp != 0}
		addrs, _ := ifi.Addrs()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
				it.Addrs = append(it.Addrs, p)
			}
		}
		out = append(out, it)
	}
	return out, nil
}

// Prefill answers what the host suggests: the interface with the default
// route and its address; every other answer starts at installer/config's
// defaults or the lab example's values.
func Prefill(ifs []Interface) Answers {
	a := Answers{
		Target: TargetRack, Name: "vela", DHCPMode: "proxy", Image: "vela-os", LabBridge: "vela-lab0",
		Admin: "admin", SavePath: "vela-install.yaml",
	}
	pick := -1
	for i, it := range ifs {
		if it.DefaultRoute && len(it.Addrs) > 0 {
			pick = i
			break
		}
	}
	if pick < 0 {
		for i, it := range ifs {
			if it.Up && len(it.Addrs) > 0 {
				pick = i
				break
			}
		}
	}
	if pick >= 0 {
		it := ifs[pick]
		a.Interface, a.Address = it.Name, it.Addrs[0].String()
		if !it.DefaultRoute {
			a.DHCPMode = "full" // a network of its own: Vela may hand out addresses
		}
		a.Pool = suggestPool(it.Addrs[0])
	}
	return a
}

// labDefaults are the lab example's network answers.
func labDefaults(a Answers) Answers {
	a.Address, a.DHCPMode, a.Pool, a.DNS = "10.77.0.1/24", "full", "10.77.0.100-10.77.0.199", "10.77.0.1"
	a.KernelArgs = "console=ttyS0,115200"
	if a.Name == "vela" {
		a.Name = "lab"
	}
	return a
}

// suggestPool proposes .100-.199 of a /24 (or larger) subnet.
func suggestPool(p netip.Prefix) string {
	if p.Bits() > 24 {
		return ""
	}
	b := p.Masked().Addr().As4()
	if p.Bits() < 24 {
		b = p.Addr().As4()
	}
	lo, hi := b, b
	lo[3], hi[3] = 100, 199
	return netip.AddrFrom4(lo).String() + "-" + netip.AddrFrom4(hi).String()
}
