// Package swarmtest runs real dockerd processes for tests, each in its own
// network namespace on a bridge it creates, reached over mutual TLS as Vela
// reaches tenant nodes; like net/http/httptest, for tests only.
package swarmtest

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
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/swarm"
)

// Need skips the test when dockerd, ip or iptables or root is missing, but
// only outside CI: with CI set it fails instead.
func Need(t testing.TB) {
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

func sh(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// PKI is a throwaway CA with a client certificate for Vela.
type PKI struct {
	CA     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	CAPEM  []byte
	Client tls.Certificate
}

// NewPKI makes a CA and Vela's client certificate.
func NewPKI(t *testing.T) *PKI {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &PKI{CA: ca, caKey: key, CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	certPEM, keyPEM := p.Issue(t, "vela", nil, x509.ExtKeyUsageClientAuth)
	p.Client, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var serial, instance atomic.Int64

// Issue signs a certificate for cn (with ip as SAN when set).
func (p *PKI) Issue(t *testing.T, cn string, ip net.IP, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial.Add(1) + 1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	if ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CA, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// Node is one dockerd in its own network namespace.
type Node struct {
	Name, IP, Dir string
	ns            string
	cmd           *exec.Cmd
	exited        chan struct{}
	stop          func()
}

// StartNodes makes a bridge, n network namespaces and one dockerd in each,
// listening with TLS on IP:2376 and on a unix socket in its Dir; t.Cleanup
// stops them and removes everything.
func StartNodes(t *testing.T, p *PKI, n int) []*Node {
	// Unique per process and call: tests in one binary may each start nodes.
	id := int(int64(os.Getpid()%1000)*10+instance.Add(1)) % 10000
	bridge := fmt.Sprintf("vsw%d", id)
	subnet := fmt.Sprintf("10.252.%d", id%250)
	sh(t, "ip", "link", "add", bridge, "type", "bridge")
	t.Cleanup(func() { exec.Command("ip", "link", "del", bridge).Run() })
	sh(t, "ip", "addr", "add", subnet+".1/24", "dev", bridge)
	sh(t, "ip", "link", "set", bridge, "up")
	rule := []string{"FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"}
	sh(t, append([]string{"iptables", "-I"}, rule...)...)
	t.Cleanup(func() { exec.Command("iptables", append([]string{"-D"}, rule...)...).Run() })

	var nodes []*Node
	for i := 1; i <= n; i++ {
		nd := &Node{Name: fmt.Sprintf("n%d", i), ns: fmt.Sprintf("vsw%d-%d", id, i), IP: fmt.Sprintf("%s.%d", subnet, 10+i), Dir: t.TempDir()}
		veth := fmt.Sprintf("vsw%dv%d", id, i)
		sh(t, "ip", "netns", "add", nd.ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", nd.ns).Run() })
		sh(t, "ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", nd.ns)
		t.Cleanup(func() { exec.Command("ip", "link", "del", veth).Run() })
		sh(t, "ip", "link", "set", veth, "master", bridge, "up")
		sh(t, "ip", "-n", nd.ns, "addr", "add", nd.IP+"/24", "dev", "eth0")
		sh(t, "ip", "-n", nd.ns, "link", "set", "eth0", "up")
		sh(t, "ip", "-n", nd.ns, "link", "set", "lo", "up")
		cert, key := p.Issue(t, nd.Name, net.ParseIP(nd.IP), x509.ExtKeyUsageServerAuth)
		for f, b := range map[string][]byte{"ca.pem": p.CAPEM, "cert.pem": cert, "key.pem": key} {
			if err := os.WriteFile(filepath.Join(nd.Dir, f), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		// nsenter, not `ip netns exec`: the latter remounts /sys and so
		// hides the cgroup hierarchies dockerd needs.
		nd.cmd = exec.Command("nsenter", "--net=/run/netns/"+nd.ns, "dockerd",
			"--data-root", filepath.Join(nd.Dir, "data"), "--exec-root", filepath.Join(nd.Dir, "exec"),
			"--pidfile", filepath.Join(nd.Dir, "docker.pid"), "-H", "unix://"+filepath.Join(nd.Dir, "docker.sock"),
			"-H", "tcp://"+nd.IP+":2376", "--tlsverify", "--tlscacert", filepath.Join(nd.Dir, "ca.pem"),
			"--tlscert", filepath.Join(nd.Dir, "cert.pem"), "--tlskey", filepath.Join(nd.Dir, "key.pem"),
			"--bridge", "none", "--iptables=false", "--ip-masq=false", "--userland-proxy=false")
		logf, _ := os.Create(filepath.Join(nd.Dir, "dockerd.log"))
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

func stopNode(t testing.TB, nd *Node) {
	syscall.Kill(nd.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-nd.exited:
	case <-time.After(20 * time.Second):
		syscall.Kill(-nd.cmd.Process.Pid, syscall.SIGKILL)
		<-nd.exited
	}
	// dockerd leaves its netns mounts and containerd state under its dirs.
	exec.Command("sh", "-c", "grep -o ' "+nd.Dir+"[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l").Run()
}

func waitEngine(t *testing.T, nd *Node) {
	if err := waitEngineErr(nd); err != nil {
		t.Fatal(err)
	}
}

func waitEngineErr(nd *Node) error {
	e := swarm.NewUnixEngine(filepath.Join(nd.Dir, "docker.sock"), 2*time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := e.Info(context.Background()); err == nil {
			return nil
		}
		exited := false
		select {
		case <-nd.exited:
			exited = true
		case <-time.After(100 * time.Millisecond): // polling a socket with a deadline
		}
		if exited || time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(nd.Dir, "dockerd.log"))
			return fmt.Errorf("dockerd of %s not ready (exited=%v):\n%s", nd.Name, exited, log)
		}
	}
}

// Engine returns the TLS Engine of a node, with Vela's client certificate
// or without any.
func (p *PKI) Engine(nd *Node, withCert bool) *swarm.HTTPEngine {
	pool := x509.NewCertPool()
	pool.AddCert(p.CA)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if withCert {
		cfg.Certificates = []tls.Certificate{p.Client}
	}
	return swarm.NewHTTPEngine("https://"+nd.IP+":2376", cfg, 30*time.Second)
}

// Kill SIGKILLs the node's dockerd (a node whose hypervisor died) and
// waits for it to exit; the cleanup registered by StartNodes still removes
// its namespace and mounts.
func (nd *Node) Kill() {
	syscall.Kill(-nd.cmd.Process.Pid, syscall.SIGKILL)
	<-nd.exited
}
