package controller

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/scheduler"
)

// DefaultPool is the IPv4 range tenant subnets are cut from, one /24 per
// (tenant, hypervisor). `vela server --node-pool` overrides it.
const DefaultPool = "10.200.0.0/16"

// First host number given to nodes in a subnet (.1 is the gateway).
const firstHost = 10

// Node sizes written into node records.
var nodeSize = scheduler.NodeSize

// hvReady tells whether new nodes may go to h at now: ready (not
// draining) and heard from within fsm.UnreachableAfter heartbeats.
func hvReady(h fsm.Hypervisor, now time.Time, heartbeat time.Duration) bool {
	return h.State == fsm.HypervisorReady && !h.Unreachable(now, heartbeat)
}

// schedulerView builds the scheduler's input from the state: capacity from
// the hypervisor records, allocation from the node records placed there
// (immediate, unlike heartbeats).
func schedulerView(hvs []fsm.Hypervisor, nodes []fsm.Node, now time.Time, heartbeat time.Duration) []scheduler.Hypervisor {
	out := make([]scheduler.Hypervisor, 0, len(hvs))
	for _, h := range hvs {
		sh := scheduler.Hypervisor{Name: h.Name, Ready: hvReady(h, now, heartbeat),
			Capacity: scheduler.Resources{Memory: h.MemoryBytes, CPUs: h.CPUs, Disk: h.DiskBytes},
			Clusters: map[string]int{}}
		for _, n := range nodes {
			if n.Hypervisor != h.Name {
				continue
			}
			sh.Allocated.Memory += n.MemoryBytes
			sh.Allocated.CPUs += n.VCPUs
			sh.Allocated.Disk += n.DiskBytes
			if n.Desired != fsm.NodeDesiredDeleted {
				sh.Clusters[n.Tenant+"/"+n.Cluster]++
			}
		}
		out = append(out, sh)
	}
	return out
}

// ordinal returns the number at the end of a node name ("acme-web-3" -> 3).
func ordinal(name string) int {
	i := strings.LastIndex(name, "-")
	n, err := strconv.Atoi(name[i+1:])
	if err != nil {
		return 0
	}
	return n
}

// sortNodes orders a cluster's nodes by ordinal (creation order).
func sortNodes(ns []fsm.Node) {
	sort.SliceStable(ns, func(a, b int) bool {
		oa, ob := ordinal(ns[a].Name), ordinal(ns[b].Name)
		if oa != ob {
			return oa < ob
		}
		return ns[a].Name < ns[b].Name
	})
}

// allocator hands out subnets and addresses against the state plus what it
// handed out already in this pass.
type allocator struct {
	pool    netip.Prefix
	subnets map[string]fsm.Subnet // key tenant/hypervisor
	used    map[string]bool       // prefixes in use
	addrs   map[string]bool       // node IPs in use
	names   map[string]bool       // node names in use
}

func newAllocator(pool string, subnets []fsm.Subnet, nodes []fsm.Node) (*allocator, error) {
	p, err := netip.ParsePrefix(pool)
	if err != nil || !p.Addr().Is4() || p.Bits() > 24 {
		return nil, fmt.Errorf("node pool %q: want an IPv4 prefix of /24 or larger, e.g. %s", pool, DefaultPool)
	}
	a := &allocator{pool: p.Masked(), subnets: map[string]fsm.Subnet{}, used: map[string]bool{}, addrs: map[string]bool{}, names: map[string]bool{}}
	for _, s := range subnets {
		a.subnets[s.Key()] = s
		a.used[s.Prefix] = true
	}
	for _, n := range nodes {
		a.names[n.Name] = true
		if ip, _, err := net.ParseCIDR(n.Address); err == nil {
			a.addrs[ip.String()] = true
		}
	}
	return a, nil
}

// subnet returns the tenant's subnet on hv, allocating the lowest free /24
// of the pool (fresh reports whether it is new and must be proposed).
func (a *allocator) subnet(tenant, hv string) (s fsm.Subnet, fresh bool, err error) {
	key := tenant + "/" + hv
	if s, ok := a.subnets[key]; ok {
		return s, false, nil
	}
	base := binary.BigEndian.Uint32(a.pool.Addr().AsSlice())
	count := uint32(1) << (24 - a.pool.Bits())
	for i := range count {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], base+i<<8)
		pfx := netip.PrefixFrom(netip.AddrFrom4(b), 24).String()
		if !a.used[pfx] {
			a.used[pfx] = true
			s = fsm.Subnet{Tenant: tenant, Hypervisor: hv, Prefix: pfx}
			a.subnets[key] = s
			return s, true, nil
		}
	}
	return fsm.Subnet{}, false, fmt.Errorf("node pool %s is exhausted (%d subnets of /24 in use); widen it with `vela server --node-pool`", a.pool, count)
}

// address returns the lowest free node address (from .10) of s and the
// gateway (.1), as "IP/24" and "IP".
func (a *allocator) address(s fsm.Subnet) (addr, gw string, err error) {
	p, err := netip.ParsePrefix(s.Prefix)
	if err != nil {
		return "", "", fmt.Errorf("subnet %s: %q: %w", s.Key(), s.Prefix, err)
	}
	b := p.Addr().As4()
	b[3] = 1
	gw = netip.AddrFrom4(b).String()
	for h := firstHost; h < 255; h++ {
		b[3] = byte(h)
		ip := netip.AddrFrom4(b).String()
		if !a.addrs[ip] {
			a.addrs[ip] = true
			return fmt.Sprintf("%s/%d", ip, p.Bits()), gw, nil
		}
	}
	return "", "", fmt.Errorf("subnet %s of tenant %q on %s is full (245 nodes)", s.Prefix, s.Tenant, s.Hypervisor)
}

// nodeName returns the next free name of a cluster's node, after every
// ordinal in use or listed in skip.
func (a *allocator) nodeName(c fsm.Cluster, existing []fsm.Node) string {
	next := 0
	for _, n := range existing {
		next = max(next, ordinal(n.Name))
	}
	for _, r := range c.Remove {
		next = max(next, ordinal(r))
	}
	for {
		next++
		name := fmt.Sprintf("%s-%s-%d", c.Tenant, c.Name, next)
		if !a.names[name] {
			a.names[name] = true
			return name
		}
	}
}
