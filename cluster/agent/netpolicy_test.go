package agent

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// inNetns runs fn on a thread moved into the network namespace at path.
// Sockets fn creates stay in that namespace. The thread is never unlocked,
// so Go discards it instead of reusing it in the wrong namespace.
func inNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(path)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// listenIn listens on addr inside a network namespace and reports the
// remote address of each connection it accepts.
func listenIn(t *testing.T, nsPath, addr string) <-chan string {
	t.Helper()
	var l net.Listener
	if err := inNetns(nsPath, func() (err error) { l, err = net.Listen("tcp", addr); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	from := make(chan string, 8)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			from <- host
			c.Close()
		}
	}()
	return from
}

// dialFrom reports whether a TCP connection to addr succeeds from inside a
// network namespace within 2 seconds.
func dialFrom(nsPath, addr string) bool {
	return inNetns(nsPath, func() error {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}) == nil
}

// testOutside checks the documented policy between a node and "the
// outside", played by a network namespace the test makes behind a veth on
// the hypervisor: nodes reach out (masqueraded as the hypervisor); the
// outside reaches a node's dockerd port and what the tenant publishes, not
// the Swarm's ports.
func testOutside(t *testing.T, ctx context.Context, nodePID int, nodeIP string) {
	ns := fmt.Sprintf("vela-out-%d", os.Getpid()%100000)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	run("ip", "netns", "add", ns)
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", "vo-h").Run()
		_ = exec.Command("ip", "netns", "del", ns).Run()
	})
	run("ip", "link", "add", "vo-h", "type", "veth", "peer", "name", "vo-n")
	run("ip", "link", "set", "vo-n", "netns", ns)
	run("ip", "addr", "add", "10.231.9.1/24", "dev", "vo-h")
	run("ip", "link", "set", "vo-h", "up")
	run("ip", "-n", ns, "addr", "add", "10.231.9.2/24", "dev", "vo-n")
	run("ip", "-n", ns, "link", "set", "vo-n", "up")
	run("ip", "-n", ns, "link", "set", "lo", "up")
	run("ip", "-n", ns, "route", "add", "default", "via", "10.231.9.1")
	outside := "/run/netns/" + ns
	node := fmt.Sprintf("/proc/%d/ns/net", nodePID)

	from := listenIn(t, outside, "10.231.9.2:9000")
	if !dialFrom(node, "10.231.9.2:9000") {
		t.Fatal("the node cannot reach the outside")
	}
	select {
	case src := <-from:
		if src != "10.231.9.1" {
			t.Errorf("the outside saw the node's connection from %s, want the hypervisor's 10.231.9.1 (masquerade)", src)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the outside listener saw no connection")
	}

	listenIn(t, node, ":9001") // a tenant service published on the node
	listenIn(t, node, ":2377") // what a Swarm manager listens on
	if !dialFrom(outside, nodeIP+":2376") {
		t.Error("the outside cannot reach the node's dockerd port 2376")
	}
	if !dialFrom(outside, nodeIP+":9001") {
		t.Error("the outside cannot reach a port the tenant publishes (9001)")
	}
	if dialFrom(outside, nodeIP+":2377") {
		t.Error("the outside reached the node's Swarm manager port 2377")
	}
	if !dialFrom(node, "127.0.0.1:9001") {
		t.Error("the test's listener inside the node does not answer locally")
	}
}
