package node

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
)

// BridgePrefix starts the name of every tenant bridge.
const BridgePrefix = "vt-"

// Chain is the iptables chain holding the tenant isolation rules; FORWARD
// jumps to it first.
const Chain = "VELA-TENANTS"

// TenantNet is one tenant's network on this hypervisor: a bridge whose
// address is the nodes' gateway.
type TenantNet struct {
	Tenant  string
	Gateway netip.Prefix // e.g. 10.20.0.1/24 (from the control plane's address plan)
}

// BridgeName is the tenant's bridge on every hypervisor.
func BridgeName(tenant string) string {
	h := sha256.Sum256([]byte(tenant))
	return fmt.Sprintf("%s%x", BridgePrefix, h[:4])
}

// EnsureNetwork creates the tenant's bridge with its gateway address and the
// isolation policy, idempotently:
//   - nodes of one tenant reach each other (same bridge);
//   - a tenant bridge never forwards to another tenant bridge;
//   - nodes reach the outside through the hypervisor, masqueraded;
//   - the outside reaches a node only on connections the node opened and on
//     dockerd's TLS port 2376 (the control plane and tenants use it).
func EnsureNetwork(ctx context.Context, n TenantNet) (string, error) {
	br := BridgeName(n.Tenant)
	if _, err := os.Stat("/sys/class/net/" + br); err != nil {
		if err := run(ctx, "ip", "link", "add", br, "type", "bridge"); err != nil {
			return "", fmt.Errorf("tenant %q: %w", n.Tenant, err)
		}
	}
	if out, _ := exec.CommandContext(ctx, "ip", "-4", "-o", "addr", "show", "dev", br).Output(); !strings.Contains(string(out), " "+n.Gateway.String()+" ") {
		if err := run(ctx, "ip", "addr", "replace", n.Gateway.String(), "dev", br); err != nil {
			return "", fmt.Errorf("tenant %q: %w", n.Tenant, err)
		}
	}
	if err := run(ctx, "ip", "link", "set", br, "up"); err != nil {
		return "", fmt.Errorf("tenant %q: %w", n.Tenant, err)
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0); err != nil {
		return "", fmt.Errorf("enable IPv4 forwarding: %w", err)
	}
	subnet := n.Gateway.Masked().String()
	// The cross-tenant drop goes on top, before any tenant's accepts.
	top := [][]string{
		{"-i", br, "-o", BridgePrefix + "+", "-j", "DROP"},
		{"-i", br, "-o", br, "-j", "ACCEPT"},
	}
	// From outside, a node is a host of its own (as in the service we
	// model): its dockerd's TLS port and whatever the tenant publishes
	// are reachable; the Swarm's control and data ports and a plain
	// dockerd port never are (only the tenant's own nodes, accepted above
	// and in VELA-ROUTES, reach those).
	rules := [][]string{
		{"-i", br, "-j", "ACCEPT"},
		{"-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"},
		{"-o", br, "-p", "tcp", "--dport", fmt.Sprint(DockerPort), "-j", "ACCEPT"},
	}
	for _, p := range SwarmPorts {
		rules = append(rules, []string{"-o", br, "-p", p.Proto, "--dport", fmt.Sprint(p.Port), "-j", "DROP"})
	}
	rules = append(rules, []string{"-o", br, "-j", "ACCEPT"})
	if err := ensureChain(ctx); err != nil {
		return "", err
	}
	// Hypervisors set up before published ports were let in dropped the rest.
	_ = exec.CommandContext(ctx, "iptables", "-w", "-D", Chain, "-o", br, "-j", "DROP").Run()
	for _, r := range top {
		if err := ensureRuleAt(ctx, Chain, r); err != nil {
			return "", fmt.Errorf("tenant %q: %w", n.Tenant, err)
		}
	}
	for _, r := range rules {
		if err := ensureRule(ctx, "filter", Chain, r); err != nil {
			return "", fmt.Errorf("tenant %q: %w", n.Tenant, err)
		}
	}
	nat := []string{"-s", subnet, "!", "-o", br, "-j", "MASQUERADE"}
	if err := ensureRule(ctx, "nat", "POSTROUTING", nat); err != nil {
		return "", fmt.Errorf("tenant %q: %w", n.Tenant, err)
	}
	return br, nil
}

// RemoveNetwork deletes the tenant's bridge and its rules.
func RemoveNetwork(ctx context.Context, n TenantNet) error {
	br := BridgeName(n.Tenant)
	for {
		out, err := exec.CommandContext(ctx, "iptables", "-w", "-S", Chain).Output()
		if err != nil {
			break
		}
		var del []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "-A "+Chain+" ") && (strings.Contains(l, " -i "+br+" ") || strings.Contains(l, " -o "+br+" ")) {
				del = strings.Fields(strings.TrimPrefix(l, "-A "+Chain+" "))
				break
			}
		}
		if del == nil {
			break
		}
		if err := run(ctx, "iptables", append([]string{"-w", "-D", Chain}, del...)...); err != nil {
			return err
		}
	}
	_ = run(ctx, "iptables", "-w", "-t", "nat", "-D", "POSTROUTING", "-s", n.Gateway.Masked().String(), "!", "-o", br, "-j", "MASQUERADE")
	// The last tenant gone: remove the chain and the jump to it.
	if out, err := exec.CommandContext(ctx, "iptables", "-w", "-S", Chain).Output(); err == nil && !strings.Contains(string(out), "-A "+Chain) {
		_ = run(ctx, "iptables", "-w", "-D", "FORWARD", "-j", Chain)
		_ = run(ctx, "iptables", "-w", "-X", Chain)
	}
	if _, err := os.Stat("/sys/class/net/" + br); err == nil {
		return run(ctx, "ip", "link", "del", br)
	}
	return nil
}

func ensureChain(ctx context.Context) error {
	if exec.CommandContext(ctx, "iptables", "-w", "-n", "-L", Chain).Run() != nil {
		if err := run(ctx, "iptables", "-w", "-N", Chain); err != nil {
			return err
		}
	}
	jump := []string{"-j", Chain}
	if exec.CommandContext(ctx, "iptables", append([]string{"-w", "-C", "FORWARD"}, jump...)...).Run() != nil {
		return run(ctx, "iptables", append([]string{"-w", "-I", "FORWARD", "1"}, jump...)...)
	}
	return nil
}

// SwarmPorts are the ports no one but the tenant's own nodes may reach:
// plain dockerd, Swarm's managers, gossip and overlay data.
var SwarmPorts = []struct {
	Proto string
	Port  int
}{{"tcp", 2375}, {"tcp", 2377}, {"tcp", 7946}, {"udp", 7946}, {"udp", 4789}}

func ensureRule(ctx context.Context, table, chain string, rule []string) error {
	if exec.CommandContext(ctx, "iptables", append([]string{"-w", "-t", table, "-C", chain}, rule...)...).Run() == nil {
		return nil
	}
	return run(ctx, "iptables", append([]string{"-w", "-t", table, "-A", chain}, rule...)...)
}

func ensureRuleAt(ctx context.Context, chain string, rule []string) error {
	if exec.CommandContext(ctx, "iptables", append([]string{"-w", "-C", chain}, rule...)...).Run() == nil {
		return nil
	}
	return run(ctx, "iptables", append([]string{"-w", "-I", chain, "1"}, rule...)...)
}

// EnsureNetwork makes the tenant's network ready; see the package function.
func (m *Manager) EnsureNetwork(ctx context.Context, n TenantNet) (string, error) {
	return EnsureNetwork(ctx, n)
}
