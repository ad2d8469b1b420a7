package swarm

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests form a real Docker Swarm out of real dockerd processes, one
// per network namespace on a bridge the test creates, reached over mutual
// TLS on port 2376 as Vela reaches tenant nodes.

func needDocker(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, p := range []string{"dockerd", "ip", "iptables"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI needs %v (make deps installs them)", missing)
	}
	t.Skipf("needs %v", missing)
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

type testPKI struct {
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caPEM  []byte
	client tls.Certificate
}

func newPKI(t *testing.T) *testPKI {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &testPKI{ca: ca, caKey: key, caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	certPEM, keyPEM := p.issue(t, "vela", nil, x509.ExtKeyUsageClientAuth)
	p.client, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var serial int64 = 1

func (p *testPKI) issue(t *testing.T, cn string, ip net.IP, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	if ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// node is one dockerd in its own network namespace.
type node struct {
	name, ns, ip, dir string
	cmd               *exec.Cmd
	exited            chan struct{}
}

// startNodes makes a bridge, n namespaces and one dockerd in each.
func startNodes(t *testing.T, p *testPKI, n int) []*node {
	id := os.Getpid() % 10000
	bridge := fmt.Sprintf("vsw%d", id)
	subnet := fmt.Sprintf("10.252.%d", id%250)
	sh(t, "ip", "link", "add", bridge, "type", "bridge")
	t.Cleanup(func() { exec.Command("ip", "link", "del", bridge).Run() })
	sh(t, "ip", "addr", "add", subnet+".1/24", "dev", bridge)
	sh(t, "ip", "link", "set", bridge, "up")
	rule := []string{"FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"}
	sh(t, append([]string{"iptables", "-I"}, rule...)...)
	t.Cleanup(func() { exec.Command("iptables", append([]string{"-D"}, rule...)...).Run() })

	var nodes []*node
	for i := 1; i <= n; i++ {
		nd := &node{name: fmt.Sprintf("n%d", i), ns: fmt.Sprintf("vsw%d-%d", id, i), ip: fmt.Sprintf("%s.%d", subnet, 10+i), dir: t.TempDir()}
		veth := fmt.Sprintf("vsw%dv%d", id, i)
		sh(t, "ip", "netns", "add", nd.ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", nd.ns).Run() })
		sh(t, "ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", nd.ns)
		t.Cleanup(func() { exec.Command("ip", "link", "del", veth).Run() })
		sh(t, "ip", "link", "set", veth, "master", bridge, "up")
		sh(t, "ip", "-n", nd.ns, "addr", "add", nd.ip+"/24", "dev", "eth0")
		sh(t, "ip", "-n", nd.ns, "link", "set", "eth0", "up")
		sh(t, "ip", "-n", nd.ns, "link", "set", "lo", "up")
		cert, key := p.issue(t, nd.name, net.ParseIP(nd.ip), x509.ExtKeyUsageServerAuth)
		for f, b := range map[string][]byte{"ca.pem": p.caPEM, "cert.pem": cert, "key.pem": key} {
			if err := os.WriteFile(filepath.Join(nd.dir, f), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		// nsenter, not `ip netns exec`: the latter remounts /sys and so
		// hides the cgroup hierarchies dockerd needs.
		nd.cmd = exec.Command("nsenter", "--net=/run/netns/"+nd.ns, "dockerd",
			"--data-root", filepath.Join(nd.dir, "data"), "--exec-root", filepath.Join(nd.dir, "exec"),
			"--pidfile", filepath.Join(nd.dir, "docker.pid"), "-H", "unix://"+filepath.Join(nd.dir, "docker.sock"),
			"-H", "tcp://"+nd.ip+":2376", "--tlsverify", "--tlscacert", filepath.Join(nd.dir, "ca.pem"),
			"--tlscert", filepath.Join(nd.dir, "cert.pem"), "--tlskey", filepath.Join(nd.dir, "key.pem"),
			"--bridge", "none", "--iptables=false", "--ip-masq=false", "--userland-proxy=false")
		logf, _ := os.Create(filepath.Join(nd.dir, "dockerd.log"))
		nd.cmd.Stdout, nd.cmd.Stderr = logf, logf
		nd.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := nd.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		nd.exited = make(chan struct{})
		go func() { nd.cmd.Wait(); close(nd.exited) }()
		t.Cleanup(func() { stopNode(t, nd) })
		nodes = append(nodes, nd)
	}
	for _, nd := range nodes {
		waitEngine(t, nd)
	}
	return nodes
}

func stopNode(t *testing.T, nd *node) {
	syscall.Kill(nd.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-nd.exited:
	case <-time.After(20 * time.Second):
		syscall.Kill(-nd.cmd.Process.Pid, syscall.SIGKILL)
		<-nd.exited
	}
	// dockerd leaves its netns mounts and containerd state under its dirs.
	exec.Command("sh", "-c", "grep -o ' "+nd.dir+"[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l").Run()
}

func waitEngine(t *testing.T, nd *node) {
	e := NewUnixEngine(filepath.Join(nd.dir, "docker.sock"), 2*time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := e.Info(context.Background()); err == nil {
			return
		}
		exited := false
		select {
		case <-nd.exited:
			exited = true
		case <-time.After(100 * time.Millisecond): // polling a socket with a deadline
		}
		if exited || time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(nd.dir, "dockerd.log"))
			t.Fatalf("dockerd of %s not ready (exited=%v):\n%s", nd.name, exited, log)
		}
	}
}

func (p *testPKI) engine(nd *node, withCert bool) *HTTPEngine {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if withCert {
		cfg.Certificates = []tls.Certificate{p.client}
	}
	return NewHTTPEngine("https://"+nd.ip+":2376", cfg, 30*time.Second)
}

func TestRealSwarmFormsOverTLS(t *testing.T) {
	needDocker(t)
	p := newPKI(t)
	nodes := startNodes(t, p, 3)
	ctx := context.Background()

	// Without Vela's client certificate the engine refuses.
	if _, err := p.engine(nodes[0], false).Info(ctx); err == nil {
		t.Fatal("engine answered a client without a certificate")
	}
	var ms []Member
	for _, nd := range nodes {
		ms = append(ms, Member{Name: nd.name, Addr: nd.ip, Engine: p.engine(nd, true)})
	}
	start := time.Now()
	res, err := Form(ctx, ms)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("3-node swarm formed in %s: %v", time.Since(start).Round(time.Millisecond), res.Changed)
	if len(res.Managers) != 3 {
		t.Errorf("managers %v", res.Managers)
	}
	list, err := ms[0].Engine.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ready := 0
	for _, n := range list {
		if n.Status.State == "ready" {
			ready++
		}
	}
	if len(list) != 3 || ready != 3 {
		t.Errorf("swarm nodes: %d, ready %d", len(list), ready)
	}
	// Idempotent against the real thing too.
	res2, err := Form(ctx, ms)
	if err != nil || len(res2.Changed) != 0 || res2.ClusterID != res.ClusterID {
		t.Fatalf("second Form: %v %+v", err, res2)
	}
	// A node that left is joined back.
	if err := ms[2].Engine.Leave(ctx, true); err != nil {
		t.Fatal(err)
	}
	res3, err := Form(ctx, ms)
	if err != nil || len(res3.Changed) != 1 {
		t.Fatalf("rejoin: %v %+v", err, res3)
	}
}
