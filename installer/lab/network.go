package lab

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"

	"github.com/vela-appliance/vela/installer/config"
)

// runCmd runs a command and returns its error with its output, for messages.
func runCmd(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Network is the lab's private boot network: a bridge holding the seed's address.
type Network struct {
	Bridge  string
	Address netip.Prefix // the seed's address on it, e.g. 10.77.0.1/24
}

// Up creates the bridge (recorded in the ledger first), gives it the
// address, brings it up and lets traffic be forwarded between its ports
// (dockerd sets the FORWARD policy to DROP). An existing bridge with the lab
// address is reused; any other interface of that name is refused.
func (n Network) Up(ctx context.Context, l *ledger) error {
	ifi, err := net.InterfaceByName(n.Bridge)
	if err == nil {
		if !hasAddr(ifi, n.Address) {
			return fmt.Errorf("interface %s exists and is not the lab's (it lacks %s); pick another lab.bridge: Vela never changes an interface it did not create", n.Bridge, n.Address)
		}
	} else {
		if err := l.update(func(o *Owned) { o.Bridge = n.Bridge }); err != nil {
			return err
		}
		if err := runCmd(ctx, "ip", "link", "add", n.Bridge, "type", "bridge"); err != nil {
			return fmt.Errorf("creating lab bridge: %w", err)
		}
		// No IPv6 duplicate address detection delay on a private bridge.
		_ = runCmd(ctx, "sysctl", "-qw", "net.ipv6.conf."+n.Bridge+".accept_dad=0")
		if err := runCmd(ctx, "ip", "addr", "add", n.Address.String(), "dev", n.Bridge); err != nil {
			return fmt.Errorf("addressing lab bridge: %w", err)
		}
	}
	if err := runCmd(ctx, "ip", "link", "set", n.Bridge, "up"); err != nil {
		return err
	}
	return n.allowForward(ctx, l)
}

func hasAddr(ifi *net.Interface, want netip.Prefix) bool {
	addrs, _ := ifi.Addrs()
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p == want {
			return true
		}
	}
	return false
}

// allowForward inserts FORWARD accept rules for the bridge, once.
func (n Network) allowForward(ctx context.Context, l *ledger) error {
	for _, rule := range [][]string{
		{"FORWARD", "-i", n.Bridge, "-o", n.Bridge, "-j", "ACCEPT"},
	} {
		check := append([]string{"-C"}, rule...)
		if exec.CommandContext(ctx, "iptables", check...).Run() == nil {
			continue // present (ours from an earlier run, recorded then)
		}
		if err := l.update(func(o *Owned) { o.Iptables = append(o.Iptables, rule) }); err != nil {
			return err
		}
		if err := runCmd(ctx, "iptables", append([]string{"-I"}, rule...)...); err != nil {
			return fmt.Errorf("allowing forwarding on the lab bridge: %w", err)
		}
	}
	return nil
}

// AddTap creates a tap device on the bridge for one VM (recorded first).
func (n Network) AddTap(ctx context.Context, l *ledger, tap string) error {
	if _, err := net.InterfaceByName(tap); err != nil {
		if err := l.update(func(o *Owned) {
			if !contains(o.Taps, tap) {
				o.Taps = append(o.Taps, tap)
			}
		}); err != nil {
			return err
		}
		if err := runCmd(ctx, "ip", "tuntap", "add", "dev", tap, "mode", "tap"); err != nil {
			return fmt.Errorf("creating tap for a lab VM: %w", err)
		}
	} else if !contains(l.owned().Taps, tap) {
		return fmt.Errorf("interface %s exists and is not the lab's; remove it or pick another lab.bridge", tap)
	}
	if err := runCmd(ctx, "ip", "link", "set", tap, "master", n.Bridge); err != nil {
		return err
	}
	return runCmd(ctx, "ip", "link", "set", tap, "up")
}

// TapName is the tap device of VM i (1-based) on bridge: at most 15 bytes.
func TapName(bridge string, i int) string {
	if len(bridge) > 12 {
		bridge = bridge[:12]
	}
	return fmt.Sprintf("%st%d", bridge, i)
}

// removeNetwork deletes what the ledger says we made, and nothing else.
func removeNetwork(ctx context.Context, l *ledger) error {
	var errs []string
	o := l.owned()
	for _, rule := range o.Iptables {
		if exec.CommandContext(ctx, "iptables", append([]string{"-C"}, rule...)...).Run() == nil {
			if err := runCmd(ctx, "iptables", append([]string{"-D"}, rule...)...); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	for _, tap := range o.Taps {
		if _, err := net.InterfaceByName(tap); err == nil {
			if err := runCmd(ctx, "ip", "link", "del", tap); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if o.Bridge != "" {
		if _, err := net.InterfaceByName(o.Bridge); err == nil {
			if err := runCmd(ctx, "ip", "link", "del", o.Bridge); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("removing the lab network: %s", strings.Join(errs, "; "))
	}
	return l.update(func(o *Owned) { *o = Owned{} })
}

// Route makes this host reach prefix (a tenant subnet on a lab
// hypervisor) through via (that VM's address on the lab bridge). The route
// goes when the bridge goes: Down needs no record of it.
func (l *Lab) Route(ctx context.Context, c *config.Config, prefix netip.Prefix, via netip.Addr) error {
	n, err := NetworkFor(c)
	if err != nil {
		return err
	}
	if err := runCmd(ctx, "ip", "route", "replace", prefix.String(), "via", via.String(), "dev", n.Bridge); err != nil {
		return fmt.Errorf("routing %s through lab VM %s: %w", prefix, via, err)
	}
	return nil
}
