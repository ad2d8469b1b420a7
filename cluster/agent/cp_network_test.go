package agent

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/agent/node"
	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/fsm"
)

// testAcrossHypervisors plays a second hypervisor, hv-peer, with a network
// namespace behind a veth: registered with the control plane at 10.236.0.2,
// holding (as addresses on its loopback) a node of the same tenant acme,
// 10.237.2.10, and a node of tenant other, 10.235.2.10. The real agent of
// hv-cp must route acme's subnet there and let only acme's remote node in.
func testAcrossHypervisors(t *testing.T, ctx context.Context, admin *client.Client, jc JoinConfig, nodeTLS *fsm.NodeTLS, nodePID int, nodeIP string) {
	ns := fmt.Sprintf("vela-peer-%d", os.Getpid()%100000)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	run("ip", "netns", "add", ns)
	t.Cleanup(func() {
		_ = exec.Command("ip", "route", "del", "10.235.2.0/24").Run()
		_ = exec.Command("ip", "link", "del", "vp-h").Run()
		_ = exec.Command("ip", "netns", "del", ns).Run()
	})
	run("ip", "link", "add", "vp-h", "type", "veth", "peer", "name", "vp-n")
	run("ip", "link", "set", "vp-n", "netns", ns)
	run("ip", "addr", "add", "10.236.0.1/24", "dev", "vp-h")
	run("ip", "link", "set", "vp-h", "up")
	run("ip", "-n", ns, "addr", "add", "10.236.0.2/24", "dev", "vp-n")
	run("ip", "-n", ns, "link", "set", "vp-n", "up")
	run("ip", "-n", ns, "link", "set", "lo", "up")
	run("ip", "-n", ns, "addr", "add", "10.237.2.10/32", "dev", "lo")
	run("ip", "-n", ns, "addr", "add", "10.235.2.10/32", "dev", "lo")
	run("ip", "-n", ns, "route", "add", "default", "via", "10.236.0.1")
	// The rack's network knows tenant other's subnet there too (hv-cp's
	// agent routes only the subnets of tenants with nodes on hv-cp).
	run("ip", "route", "add", "10.235.2.0/24", "via", "10.236.0.2")
	peer := "/run/netns/" + ns
	nodeNS := fmt.Sprintf("/proc/%d/ns/net", nodePID)

	// hv-peer joins and registers; drained so that nothing is placed on it.
	jt, err := admin.JoinToken(ctx, fsm.JoinAgent, "10m")
	if err != nil {
		t.Fatal(err)
	}
	jc.TokenFile = filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(jc.TokenFile, []byte(jt.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	jc.Name, jc.DataDir, jc.Address = "hv-peer", t.TempDir(), "10.236.0.2"
	cert, err := Credentials(ctx, jc)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := client.New(client.Config{Server: jc.Server, CAPEM: jc.CAPEM, Cert: &cert, Retry: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.RegisterHypervisor(ctx, api.RegisterRequest{Address: "10.236.0.2", CPUs: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Drain(ctx, "hv-peer", true); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/v1/tenants/other", "/v1/tenants/other/clusters/web"} {
		var body any = fsm.Tenant{}
		if p != "/v1/tenants/other" {
			body = api.ClusterRequest{Nodes: 1}
		}
		if err := admin.Do(ctx, "PUT", p, body, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []fsm.Node{
		{Name: "peer-a", Tenant: "acme", Cluster: "web", Hypervisor: "hv-peer", Address: "10.237.2.10/24", TLS: nodeTLS},
		{Name: "peer-b", Tenant: "other", Cluster: "web", Hypervisor: "hv-peer", Address: "10.235.2.10/24", TLS: nodeTLS},
	} {
		if _, err := admin.PutNode(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "hv-cp's agent to route acme's subnet on hv-peer", 20*time.Second, func() (bool, string) {
		have, err := node.InstalledRoutes(ctx)
		return err == nil && have["10.237.2.0/24"] == "10.236.0.2" && have["10.235.2.0/24"] == "", fmt.Sprint(have, err)
	})

	from := listenIn(t, peer, "10.237.2.10:9100")
	if !dialFromSrc(nodeNS, "", "10.237.2.10:9100") {
		t.Fatal("node cp-n1 cannot reach acme's node on hv-peer")
	}
	select {
	case src := <-from:
		if src != nodeIP {
			t.Errorf("acme's node on hv-peer saw cp-n1's connection from %s, want %s (no masquerade within a tenant)", src, nodeIP)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("hv-peer's listener saw no connection")
	}
	listenIn(t, nodeNS, ":9101") // a service the tenant publishes on cp-n1
	listenIn(t, nodeNS, ":2377") // cp-n1 as a Swarm manager
	for _, c := range []struct {
		src              string
		swarm, published bool
		who              string
	}{
		{"10.237.2.10", true, true, "acme's node on hv-peer"},
		{"10.235.2.10", false, true, "tenant other's node on hv-peer"},
		{"10.236.0.2", false, true, "hv-peer itself (not a tenant subnet)"},
	} {
		if got := dialFromSrc(peer, c.src, nodeIP+":2377"); got != c.swarm {
			t.Errorf("%s (%s) reaching cp-n1's Swarm port 2377: %v, want %v", c.who, c.src, got, c.swarm)
		}
		if got := dialFromSrc(peer, c.src, nodeIP+":9101"); got != c.published {
			t.Errorf("%s (%s) reaching cp-n1's published port 9101: %v, want %v", c.who, c.src, got, c.published)
		}
	}
}

// dialFromSrc is dialFrom with a source address ("" for any).
func dialFromSrc(nsPath, src, addr string) bool {
	d := net.Dialer{Timeout: 2 * time.Second}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	return inNetns(nsPath, func() error {
		c, err := d.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	}) == nil
}

// routesLock holds the host-wide lock file open for the whole run.
var routesLock *os.File

// lockHostRoutesForPackage takes the host-wide lock on this host's
// VELA-ROUTES chains for the whole package (TestMain): every real agent
// reconcile rewrites them (one set per host, as in production), and
// cluster/agent/node's TestEnsureRoutes, run in a parallel process under
// go test ./..., owns them too. The lock goes when the process exits.
func lockHostRoutesForPackage() {
	if os.Geteuid() != 0 {
		return
	}
	f, err := os.OpenFile("/run/vela-test-routes.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
	}
	// Kept reachable: an unreachable *os.File is closed by its finalizer,
	// which drops the lock mid-run (a CI run showed exactly that).
	routesLock = f
	if err != nil {
		fmt.Fprintln(os.Stderr, "lock the host's routes for the tests:", err)
		os.Exit(1)
	}
}
