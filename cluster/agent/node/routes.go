package node

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
)

// Routes to the same tenant's nodes on other hypervisors. Each tenant has a
// subnet per hypervisor (assigned by the control plane); a hypervisor
// routes the tenant's subnets elsewhere via those hypervisors' addresses,
// so nodes of one tenant reach each other directly across hypervisors.
const (
	// RouteProto marks the kernel routes the agent installs (ip route ...
	// proto 211), so that it finds and removes its own after a restart.
	RouteProto = "211"
	// RoutesChain (filter) holds the cross-hypervisor rules; the top of
	// Chain jumps to it.
	RoutesChain = "VELA-ROUTES"
	// RoutesNATChain (nat) keeps tenant traffic to its own remote subnets
	// un-masqueraded; POSTROUTING jumps to it first.
	RoutesNATChain = "VELA-ROUTES-NAT"
)

// Route says that a tenant's subnet on another hypervisor is reached via
// that hypervisor's address.
type Route struct {
	Tenant string
	Prefix netip.Prefix
	Via    netip.Addr
}

// EnsureRoutes makes this host's routes and cross-hypervisor rules match
// local (the tenant networks with nodes here) and routes, idempotently:
//   - `ip route replace PREFIX via VIA proto 211` for each route; routes
//     of proto 211 not wanted any more are deleted;
//   - a tenant bridge forwards only packets from its own subnet (no
//     spoofing another tenant's addresses);
//   - a tenant bridge accepts forwarded traffic from that tenant's subnets
//     on other hypervisors (and, as before, only replies and port 2376
//     from anything else, other tenants included);
//   - a tenant's traffic to its own remote subnets is not masqueraded, so
//     the receiving hypervisor sees the node's own address.
//
// The rule chains are rewritten only when their content differs.
func EnsureRoutes(ctx context.Context, local []TenantNet, routes []Route) error {
	subnet := map[string]netip.Prefix{}
	for _, n := range local {
		subnet[n.Tenant] = n.Gateway.Masked()
	}
	tenants := make([]string, 0, len(subnet))
	for t := range subnet {
		tenants = append(tenants, t)
	}
	slices.Sort(tenants)
	var filter, nat [][]string
	for _, t := range tenants {
		filter = append(filter, []string{"!", "-s", subnet[t].String(), "-i", BridgeName(t), "-j", "DROP"})
	}
	for _, r := range sortedRoutes(routes) {
		local, ok := subnet[r.Tenant]
		if !ok {
			continue
		}
		filter = append(filter, []string{"-s", r.Prefix.Masked().String(), "-o", BridgeName(r.Tenant), "-j", "ACCEPT"})
		// ACCEPT ends the nat table's traversal (RETURN would go on to
		// the MASQUERADE rule in POSTROUTING).
		nat = append(nat, []string{"-s", local.String(), "-d", r.Prefix.Masked().String(), "-j", "ACCEPT"})
	}
	if err := ensureChain(ctx); err != nil {
		return err
	}
	if err := syncChain(ctx, "filter", RoutesChain, filter); err != nil {
		return err
	}
	if err := ensureRuleAt(ctx, Chain, []string{"-j", RoutesChain}); err != nil {
		return err
	}
	if err := syncChain(ctx, "nat", RoutesNATChain, nat); err != nil {
		return err
	}
	jump := []string{"-w", "-t", "nat", "-C", "POSTROUTING", "-j", RoutesNATChain}
	if exec.CommandContext(ctx, "iptables", jump...).Run() != nil {
		if err := run(ctx, "iptables", "-w", "-t", "nat", "-I", "POSTROUTING", "1", "-j", RoutesNATChain); err != nil {
			return err
		}
	}
	// Routes last: traffic flows only once the rules for it are in place.
	return syncKernelRoutes(ctx, routes)
}

// RemoveRoutes deletes every route and rule EnsureRoutes made.
func RemoveRoutes(ctx context.Context) error {
	if err := syncKernelRoutes(ctx, nil); err != nil {
		return err
	}
	_ = run(ctx, "iptables", "-w", "-D", Chain, "-j", RoutesChain)
	_ = run(ctx, "iptables", "-w", "-t", "nat", "-D", "POSTROUTING", "-j", RoutesNATChain)
	for _, c := range []struct{ table, chain string }{{"filter", RoutesChain}, {"nat", RoutesNATChain}} {
		if exec.CommandContext(ctx, "iptables", "-w", "-t", c.table, "-n", "-L", c.chain).Run() == nil {
			_ = run(ctx, "iptables", "-w", "-t", c.table, "-F", c.chain)
			_ = run(ctx, "iptables", "-w", "-t", c.table, "-X", c.chain)
		}
	}
	// The tenant chain, if only the jump kept it alive.
	if out, err := exec.CommandContext(ctx, "iptables", "-w", "-S", Chain).Output(); err == nil && !strings.Contains(string(out), "-A "+Chain) {
		_ = run(ctx, "iptables", "-w", "-D", "FORWARD", "-j", Chain)
		_ = run(ctx, "iptables", "-w", "-X", Chain)
	}
	return nil
}

func sortedRoutes(rs []Route) []Route {
	out := slices.Clone(rs)
	slices.SortFunc(out, func(a, b Route) int { return strings.Compare(a.Prefix.String(), b.Prefix.String()) })
	return out
}

// InstalledRoutes lists the routes of proto RouteProto: prefix -> via.
func InstalledRoutes(ctx context.Context) (map[string]string, error) {
	out, err := exec.CommandContext(ctx, "ip", "-4", "route", "show", "proto", RouteProto).Output()
	if err != nil {
		return nil, fmt.Errorf("list routes: ip route show proto %s: %w", RouteProto, err)
	}
	have := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && f[1] == "via" {
			p := f[0]
			if !strings.Contains(p, "/") {
				p += "/32"
			}
			have[p] = f[2]
		}
	}
	return have, nil
}

func syncKernelRoutes(ctx context.Context, routes []Route) error {
	have, err := InstalledRoutes(ctx)
	if err != nil {
		return err
	}
	want := map[string]string{}
	for _, r := range routes {
		want[r.Prefix.Masked().String()] = r.Via.String()
	}
	// One unreachable hypervisor must not keep the others' routes away.
	var errs []error
	for p, via := range want {
		if have[p] == via {
			continue
		}
		if err := run(ctx, "ip", "route", "replace", p, "via", via, "proto", RouteProto); err != nil {
			errs = append(errs, fmt.Errorf("route to %s via %s: %w (is %s reachable on a directly connected network?)", p, via, err, via))
		}
	}
	for p := range have {
		if _, ok := want[p]; !ok {
			if err := run(ctx, "ip", "route", "del", p, "proto", RouteProto); err != nil {
				errs = append(errs, fmt.Errorf("remove route to %s: %w", p, err))
			}
		}
	}
	return errors.Join(errs...)
}

// syncChain makes a chain hold exactly rules, in order, rewriting it only
// when it differs.
func syncChain(ctx context.Context, table, chain string, rules [][]string) error {
	out, err := exec.CommandContext(ctx, "iptables", "-w", "-t", table, "-S", chain).Output()
	if err != nil {
		if err := run(ctx, "iptables", "-w", "-t", table, "-N", chain); err != nil {
			return err
		}
		out = nil
	}
	var have []string
	for _, l := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(l, "-A "+chain+" "); ok {
			have = append(have, rest)
		}
	}
	want := make([]string, len(rules))
	for i, r := range rules {
		want[i] = strings.Join(r, " ")
	}
	if slices.Equal(have, want) {
		return nil
	}
	if err := run(ctx, "iptables", "-w", "-t", table, "-F", chain); err != nil {
		return err
	}
	for _, r := range rules {
		if err := run(ctx, "iptables", append([]string{"-w", "-t", table, "-A", chain}, r...)...); err != nil {
			return fmt.Errorf("%s rule %v: %w", chain, r, err)
		}
	}
	return nil
}

// EnsureRoutes applies the routes; see the package function.
func (m *Manager) EnsureRoutes(ctx context.Context, local []TenantNet, routes []Route) error {
	return EnsureRoutes(ctx, local, routes)
}
