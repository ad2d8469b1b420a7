package node

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestEnsureRoutes runs against the host's real routing table and
// iptables, on a veth link and prefixes only this test uses.
func TestEnsureRoutes(t *testing.T) {
	for _, p := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(p); err != nil || os.Geteuid() != 0 {
			if os.Getenv("CI") == "" {
				t.Skipf("needs root and %s", p)
			}
			t.Fatalf("CI is set but root or %s is missing", p)
		}
	}
	lockHostRoutes(t)
	ctx := context.Background()
	const link = "vtest-peers0"
	must := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v %s", name, args, err, out)
		}
	}
	must("ip", "link", "add", link, "type", "veth", "peer", "name", link+"p")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", link).Run() })
	must("ip", "addr", "add", "10.239.0.1/24", "dev", link)
	must("ip", "link", "set", link, "up")
	must("ip", "link", "set", link+"p", "up")
	t.Cleanup(func() {
		if err := RemoveRoutes(ctx); err != nil {
			t.Error(err)
		}
	})

	acme := TenantNet{Tenant: "acme", Gateway: netip.MustParsePrefix("10.238.1.1/24")}
	r2 := Route{Tenant: "acme", Prefix: netip.MustParsePrefix("10.238.2.0/24"), Via: netip.MustParseAddr("10.239.0.2")}
	r3 := Route{Tenant: "acme", Prefix: netip.MustParsePrefix("10.238.3.0/24"), Via: netip.MustParseAddr("10.239.0.3")}
	other := Route{Tenant: "other", Prefix: netip.MustParsePrefix("10.238.9.0/24"), Via: netip.MustParseAddr("10.239.0.9")}
	rules := func() string {
		f, _ := exec.Command("iptables", "-w", "-S", RoutesChain).Output()
		n, _ := exec.Command("iptables", "-w", "-t", "nat", "-S", RoutesNATChain).Output()
		return string(f) + string(n)
	}
	br := BridgeName("acme")
	steps := []struct {
		name       string
		routes     []Route
		wantRoutes map[string]string
		wantRules  []string
		noRules    []string
	}{
		{"two remote subnets", []Route{r3, r2, other},
			map[string]string{"10.238.2.0/24": "10.239.0.2", "10.238.3.0/24": "10.239.0.3", "10.238.9.0/24": "10.239.0.9"},
			[]string{"! -s 10.238.1.0/24 -i " + br + " -j DROP", "-s 10.238.2.0/24 -o " + br + " -j ACCEPT", "-s 10.238.3.0/24 -o " + br + " -j ACCEPT",
				"-s 10.238.1.0/24 -d 10.238.3.0/24 -j ACCEPT"},
			[]string{"10.238.9.0/24 -o"}},
		{"one moved, one gone", []Route{{Tenant: "acme", Prefix: r2.Prefix, Via: netip.MustParseAddr("10.239.0.4")}},
			map[string]string{"10.238.2.0/24": "10.239.0.4"},
			[]string{"-s 10.238.2.0/24 -o " + br + " -j ACCEPT"},
			[]string{"10.238.3.0/24"}},
		{"none", nil, map[string]string{}, []string{"! -s 10.238.1.0/24 -i " + br + " -j DROP"}, []string{"10.238.2.0/24"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			for range 2 { // idempotent
				if err := EnsureRoutes(ctx, []TenantNet{acme}, s.routes); err != nil {
					t.Fatal(err)
				}
			}
			have, err := InstalledRoutes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for p, via := range s.wantRoutes {
				if have[p] != via {
					t.Errorf("route %s via %q, want %s (all: %v)", p, have[p], via, have)
				}
			}
			if len(have) != len(s.wantRoutes) {
				t.Errorf("routes %v, want %v", have, s.wantRoutes)
			}
			got := rules()
			for _, r := range s.wantRules {
				if !strings.Contains(got, r) {
					t.Errorf("rules lack %q:\n%s", r, got)
				}
			}
			for _, r := range s.noRules {
				if strings.Contains(got, r) {
					t.Errorf("rules still hold %q:\n%s", r, got)
				}
			}
		})
	}
}

// lockHostRoutes serialises the tests that own this host's VELA-ROUTES
// chains (one per host, as in production): cluster/agent (its TestMain
// holds the same lock) and cluster/agent/node run in parallel processes
// under go test ./.... The lock goes with the test, after its cleanups.
func lockHostRoutes(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile("/run/vela-test-routes.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
}
