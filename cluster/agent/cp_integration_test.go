package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/agent/hypervisor"
	"github.com/vela-appliance/vela/cluster/agent/hypervisor/hvtest"
	"github.com/vela-appliance/vela/cluster/agent/node"
	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/member"
)

// TestControlPlaneIntegration runs a real member (Raft on disk, the API
// over TLS) and a real agent joined to it with a join token, against the
// real libvirtd and node manager: an admin places a node on the agent's
// hypervisor, the agent runs it (dockerd answers TLS with the record's
// certificate) and reports it running; Desired=deleted removes it; a
// stopped agent turns unreachable.
func TestControlPlaneIntegration(t *testing.T) {
	need(t, "mkfs.ext4", "iptables", "ip", "docker", "nsenter", "go", "bash", "timeout")
	lv := hvtest.Start(t)
	image := hvtest.NodeImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	vela := buildVela(t)
	const beat = 300 * time.Millisecond

	// The member.
	mdir := t.TempDir()
	ready := make(chan struct{})
	mctx, mstop := context.WithCancel(context.Background())
	server := freeAddr(t)
	m, err := member.New(member.Config{DataDir: mdir, ID: "m1", RaftAddr: freeAddr(t), APIAddr: server, Bootstrap: true,
		HeartbeatInterval: beat, Ready: ready, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mdone := make(chan error, 1)
	go func() { mdone <- m.Run(mctx) }()
	t.Cleanup(func() { mstop(); <-mdone })
	select {
	case <-ready:
	case err := <-mdone:
		t.Fatalf("member: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("member not serving after 60s")
	}
	caPEM := mustRead(t, filepath.Join(mdir, "pki", "ca.pem"))
	admin, err := client.New(client.Config{Server: server, CAPEM: caPEM, Token: string(bytes.TrimSpace(mustRead(t, filepath.Join(mdir, "admin-token")))), Retry: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	// The agent joins with a token; a restart needs none.
	jt, err := admin.JoinToken(ctx, fsm.JoinAgent, "10m")
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(jt.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := os.MkdirTemp("", "vela-agentcp-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o711); err != nil {
		t.Fatal(err)
	}
	jc := JoinConfig{Server: server, CAPEM: caPEM, TokenFile: tokenFile, DataDir: data, Name: "hv-cp", Address: "127.0.0.1"}
	cert, err := Credentials(ctx, jc)
	if err != nil {
		t.Fatal(err)
	}
	jc.TokenFile = ""
	again, err := Credentials(ctx, jc)
	if err != nil || !bytes.Equal(again.Certificate[0], cert.Certificate[0]) {
		t.Fatalf("restart without a token: %v (same certificate: %v)", err, err == nil && bytes.Equal(again.Certificate[0], cert.Certificate[0]))
	}
	for _, f := range []string{AgentCertFile, AgentKeyFile} {
		if st, err := os.Stat(filepath.Join(data, PKIDir, f)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v mode %v, want 0600", f, err, st.Mode().Perm())
		}
	}
	jc.Name = "hv-other"
	if _, err := Credentials(ctx, jc); err == nil {
		t.Error("the data dir of hv-cp gave a certificate to hv-other")
	}

	ac, err := client.New(client.Config{Server: server, CAPEM: caPEM, Cert: &cert, Retry: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Close()
	state := filepath.Join(data, "nodes")
	mgr, err := node.New(node.Config{StateDir: state, Image: image, AuthzBinary: vela})
	if err != nil {
		t.Fatal(err)
	}
	hv := hypervisor.New(hypervisor.Config{Socket: lv.Socket})
	ca := newTestCA(t, "vela test cluster CA")
	certs := ca.clientDir(t, ca.pem)
	addr := netip.MustParsePrefix("10.237.1.10/24")
	ntls := ca.serverTLS(t, net.IP(addr.Addr().AsSlice()))
	ag, err := New(Config{Hostname: "hv-cp", ControlPlane: &APIControlPlane{Client: ac, Address: "127.0.0.1"}, Hypervisor: hv, Nodes: mgr, StateDir: state,
		Interval: beat, Logger: slog.New(slog.NewTextHandler(&logWriter{t: t, prefix: "agent: "}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	actx, astop := context.WithCancel(ctx)
	adone := make(chan error, 1)
	go func() { adone <- ag.Run(actx, nil) }()
	stopAgent := func() {
		if astop != nil {
			astop()
			<-adone
			astop = nil
		}
	}
	t.Cleanup(func() {
		stopAgent()
		c := context.Background()
		for _, n := range []string{"cp-n1", "cp-n2"} {
			_ = hv.Undefine(c, n)
			_ = mgr.Remove(c, n)
		}
		hv.Close()
		if err := node.RemoveNetwork(c, node.TenantNet{Tenant: "acme", Gateway: netip.MustParsePrefix("10.237.1.1/24")}); err != nil {
			t.Errorf("cleanup network: %v", err)
		}
		if err := node.RemoveRoutes(c); err != nil {
			t.Errorf("cleanup routes: %v", err)
		}
		_ = os.RemoveAll(data)
	})

	hvState := func() (api.HypervisorStatus, error) { return admin.Hypervisor(ctx, "hv-cp") }
	waitUntil(t, "hv-cp registered and ready", 30*time.Second, func() (bool, string) {
		h, err := hvState()
		return err == nil && h.State == fsm.HypervisorReady && h.Address == "127.0.0.1" && h.CPUs > 0, fmt.Sprintf("%+v %v", h, err)
	})
	out, err := exec.CommandContext(ctx, vela, "hypervisors", "ls", "--server", server, "--ca-file", filepath.Join(mdir, "pki", "ca.pem"),
		"--token-file", filepath.Join(mdir, "admin-token")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hv-cp") || !strings.Contains(string(out), "ready") {
		t.Errorf("vela hypervisors ls: %v\n%s", err, out)
	}
	t.Logf("vela hypervisors ls:\n%s", out)
	// Drained, so that no controller places a tenant's nodes here; an
	// admin's placement still runs, and nodes keep running on a drained
	// hypervisor.
	if _, err := admin.Drain(ctx, "hv-cp", true); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, "PUT", "/v1/tenants/acme", fsm.Tenant{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, "PUT", "/v1/tenants/acme/clusters/web", api.ClusterRequest{Nodes: 1}, nil); err != nil {
		t.Fatal(err)
	}
	rec := fsm.Node{Name: "cp-n1", Tenant: "acme", Cluster: "web", Hypervisor: "hv-cp", Address: addr.String(), MemoryBytes: 1 << 30, DiskBytes: 2 << 30,
		TLS: &fsm.NodeTLS{CACert: string(ntls.CACert), Cert: string(ntls.Cert), Key: string(ntls.Key)}}
	start := time.Now()
	if _, err := admin.PutNode(ctx, rec); err != nil {
		t.Fatal(err)
	}
	nodeState := func() (fsm.Node, error) {
		var ns []fsm.Node
		if err := admin.Do(ctx, "GET", "/v1/nodes", nil, &ns); err != nil {
			return fsm.Node{}, err
		}
		for _, n := range ns {
			if n.Name == "cp-n1" {
				return n, nil
			}
		}
		return fsm.Node{}, errNotListed
	}
	waitUntil(t, "cp-n1 running", 120*time.Second, func() (bool, string) {
		n, err := nodeState()
		return err == nil && n.State == fsm.NodeRunning, fmt.Sprintf("state %q reason %q %v", n.State, n.Reason, err)
	})
	t.Logf("node record PUT -> reported running: %v", time.Since(start).Round(time.Millisecond))
	if out, err := docker(ctx, addr.Addr().String(), certs, "info", "--format", "{{.ServerVersion}}"); err != nil {
		t.Fatalf("docker info over TLS with the record's certificate: %v %s", err, out)
	}
	if n, _ := nodeState(); n.TLS == nil || n.TLS.Key != "" {
		t.Errorf("GET /v1/nodes shows TLS %+v; want the key cleared", n.TLS)
	}
	t.Run("across hypervisors", func(t *testing.T) {
		testAcrossHypervisors(t, ctx, admin, JoinConfig{Server: server, CAPEM: caPEM}, rec.TLS, node.InitPID("cp-n1"), addr.Addr().String())
	})
	waitUntil(t, "the heartbeat counts the node", 10*time.Second, func() (bool, string) {
		h, err := hvState()
		return err == nil && h.Usage.Nodes == 1 && h.Allocated.Nodes == 1 && h.Draining, fmt.Sprintf("%+v %v", h, err)
	})

	rec.Desired = fsm.NodeDesiredDeleted
	if _, err := admin.PutNode(ctx, rec); err != nil {
		t.Fatal(err)
	}
	// Reported deleted; the controller (when one runs) then deletes the
	// record itself.
	waitUntil(t, "cp-n1 deleted", 60*time.Second, func() (bool, string) {
		n, err := nodeState()
		return (err == nil && n.State == fsm.NodeDeleted) || errors.Is(err, errNotListed), fmt.Sprintf("state %q reason %q %v", n.State, n.Reason, err)
	})
	if _, err := os.Stat(filepath.Join(state, "cp-n1")); !os.IsNotExist(err) || node.InitPID("cp-n1") != 0 {
		t.Errorf("cp-n1 still on the host: dir %v, init pid %d", err, node.InitPID("cp-n1"))
	}

	stopAgent()
	stopped := time.Now()
	waitUntil(t, "hv-cp unreachable", 10*time.Second, func() (bool, string) {
		h, err := hvState()
		return err == nil && h.Unreachable && h.State == "unreachable", fmt.Sprintf("%+v %v", h, err)
	})
	t.Logf("agent stopped -> unreachable: %v (3 x %v)", time.Since(stopped).Round(time.Millisecond), beat)

	t.Run("vela agent --server restarts from the saved certificate", func(t *testing.T) {
		p := exec.Command(vela, "agent", "--server", server, "--ca-file", filepath.Join(mdir, "pki", "ca.pem"), "--data-dir", data,
			"--image", image, "--libvirt-socket", lv.Socket, "--hostname", "hv-cp", "--interval", beat.String())
		p.Stderr = &logWriter{t: t, prefix: "vela agent: "}
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_ = p.Process.Signal(syscall.SIGTERM)
			_ = p.Wait()
		}()
		waitUntil(t, "hv-cp back, still draining", 30*time.Second, func() (bool, string) {
			h, err := hvState()
			return err == nil && !h.Unreachable && h.State == fsm.HypervisorDraining, fmt.Sprintf("%+v %v", h, err)
		})
		rec2 := rec
		rec2.Name, rec2.Address, rec2.Desired = "cp-n2", "10.237.1.11/24", ""
		tls2 := ca.serverTLS(t, net.ParseIP("10.237.1.11"))
		rec2.TLS = &fsm.NodeTLS{CACert: string(tls2.CACert), Cert: string(tls2.Cert), Key: string(tls2.Key)}
		if _, err := admin.PutNode(ctx, rec2); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "cp-n2 running", 120*time.Second, func() (bool, string) {
			var ns []fsm.Node
			err := admin.Do(ctx, "GET", "/v1/nodes", nil, &ns)
			for _, n := range ns {
				if n.Name == "cp-n2" {
					return n.State == fsm.NodeRunning, fmt.Sprintf("state %q reason %q", n.State, n.Reason)
				}
			}
			return false, fmt.Sprint("not listed ", err)
		})
		if out, err := docker(ctx, "10.237.1.11", certs, "info", "--format", "{{.ServerVersion}}"); err != nil {
			t.Errorf("docker info on cp-n2: %v %s", err, out)
		}
	})
}

var errNotListed = errors.New("node cp-n1 not listed")

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitUntil polls cond every 50 ms until it holds or d passes.
func waitUntil(t *testing.T, what string, d time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last: %s", d, what, last)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}
