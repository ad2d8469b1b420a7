package swarmtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// Router is a set of bridges on the host, one per subnet, with the host as
// the router between them (like hypervisors routing tenant subnets). It
// stands in for the hypervisors' tenant bridges in controller tests.
type Router struct {
	t       testing.TB
	id      int
	mu      sync.Mutex
	bridges map[string]string // gateway CIDR -> bridge name
	n       int
}

// NewRouter returns an empty Router; t.Cleanup removes what it made. Its
// Start may be called from any goroutine.
func NewRouter(t testing.TB) *Router {
	id := int(int64(os.Getpid()%1000)*10+instance.Add(1)) % 10000
	r := &Router{t: t, id: id, bridges: map[string]string{}}
	if b, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); len(b) > 0 && b[0] == '0' {
		sh(t, "sysctl", "-qw", "net.ipv4.ip_forward=1")
		t.Cleanup(func() { exec.Command("sysctl", "-qw", "net.ipv4.ip_forward=0").Run() })
	}
	return r
}

// bridge returns the bridge holding gateway (CIDR, e.g. 10.249.0.1/24),
// creating it on first use.
func (r *Router) bridge(gateway string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if br, ok := r.bridges[gateway]; ok {
		return br, nil
	}
	t := r.t
	br := fmt.Sprintf("vct%db%d", r.id, len(r.bridges))
	if err := run("ip", "link", "add", br, "type", "bridge"); err != nil {
		return "", err
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", br).Run() })
	if err := run("ip", "addr", "add", gateway, "dev", br); err != nil {
		return "", err
	}
	if err := run("ip", "link", "set", br, "up"); err != nil {
		return "", err
	}
	for _, rule := range [][]string{{"FORWARD", "-i", br, "-j", "ACCEPT"}, {"FORWARD", "-o", br, "-j", "ACCEPT"}} {
		if err := run(append([]string{"iptables", "-I"}, rule...)...); err != nil {
			return "", err
		}
		t.Cleanup(func() { exec.Command("iptables", append([]string{"-D"}, rule...)...).Run() })
	}
	r.bridges[gateway] = br
	return br, nil
}

func run(args ...string) error {
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %v: %s", args, err, out)
	}
	return nil
}

// NodeSpec is what a Vela node record says about one node.
type NodeSpec struct {
	Name    string
	Address string // CIDR, 10.249.0.10/24
	Gateway string // 10.249.0.1
	CACert  []byte
	Cert    []byte
	Key     []byte
}

// Start runs a dockerd for spec in a new network namespace on the bridge of
// its gateway, listening with TLS on ADDRESS:2376, and waits until it
// answers. Stop it with Node.Stop (t.Cleanup also does).
func (r *Router) Start(spec NodeSpec) (*Node, error) {
	t := r.t
	ip, ipnet, err := net.ParseCIDR(spec.Address)
	if err != nil {
		return nil, fmt.Errorf("node %s: address %q: %w", spec.Name, spec.Address, err)
	}
	ones, _ := ipnet.Mask.Size()
	br, err := r.bridge(fmt.Sprintf("%s/%d", spec.Gateway, ones))
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.n++
	i := r.n
	r.mu.Unlock()
	nd := &Node{Name: spec.Name, ns: fmt.Sprintf("vct%d-%d", r.id, i), IP: ip.String(), Dir: t.TempDir()}
	veth := fmt.Sprintf("vct%dv%d", r.id, i)
	for _, args := range [][]string{
		{"ip", "netns", "add", nd.ns},
		{"ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", nd.ns},
		{"ip", "link", "set", veth, "master", br, "up"},
		{"ip", "-n", nd.ns, "addr", "add", spec.Address, "dev", "eth0"},
		{"ip", "-n", nd.ns, "link", "set", "eth0", "up"},
		{"ip", "-n", nd.ns, "link", "set", "lo", "up"},
		{"ip", "-n", nd.ns, "route", "add", "default", "via", spec.Gateway},
	} {
		if err := run(args...); err != nil {
			return nil, err
		}
		switch args[1] {
		case "netns":
			t.Cleanup(func() { exec.Command("ip", "netns", "del", nd.ns).Run() })
		case "link":
			if args[2] == "add" {
				t.Cleanup(func() { exec.Command("ip", "link", "del", veth).Run() })
			}
		}
	}
	for f, b := range map[string][]byte{"ca.pem": spec.CACert, "cert.pem": spec.Cert, "key.pem": spec.Key} {
		if err := os.WriteFile(filepath.Join(nd.Dir, f), b, 0o600); err != nil {
			return nil, err
		}
	}
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
		return nil, err
	}
	nd.exited = make(chan struct{})
	go func() { nd.cmd.Wait(); close(nd.exited) }()
	var once sync.Once
	// Stopping also frees the address (a node's address is reused after
	// the node is deleted, as on a real hypervisor).
	nd.stop = func() {
		once.Do(func() {
			stopNode(t, nd)
			exec.Command("ip", "link", "del", veth).Run()
			exec.Command("ip", "netns", "del", nd.ns).Run()
		})
	}
	t.Cleanup(nd.stop)
	return nd, waitEngineErr(nd)
}

// Stop stops the node's dockerd and removes its namespace and link
// (idempotent).
func (nd *Node) Stop() {
	if nd.stop != nil {
		nd.stop()
	}
}

// Log returns the node's dockerd log.
func (nd *Node) Log() string {
	b, _ := os.ReadFile(filepath.Join(nd.Dir, "dockerd.log"))
	return string(b)
}
