package netnstest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Require skips (or fails in CI) when the test cannot make namespaces.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	missing := ""
	if os.Geteuid() != 0 {
		missing = "root"
	}
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil && missing == "" {
			missing = tool
		}
	}
	if missing == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("this test needs %s, and CI is set: install it (see docs/pxe.md)", missing)
	}
	t.Skipf("needs %s (set CI=1 to make this a failure)", missing)
}

// Name returns a short unique name with prefix (interface names are <16 bytes).
func Name(prefix string) string {
	b := make([]byte, 3)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// IP runs `ip args...` and fails the test on error.
func IP(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// NS creates a network namespace with its loopback up, deleted on cleanup.
func NS(t testing.TB) string {
	t.Helper()
	ns := Name("vpxe")
	IP(t, "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	IP(t, "-n", ns, "link", "set", "lo", "up")
	return ns
}

// Veth links namespaces a and b with a veth pair named ifa (in a) and ifb
// (in b), both up, with the given addresses ("" for none).
func Veth(t testing.TB, a, ifa, addrA, b, ifb, addrB string) {
	t.Helper()
	IP(t, "-n", a, "link", "add", ifa, "type", "veth", "peer", "name", ifb, "netns", b)
	for _, x := range [][3]string{{a, ifa, addrA}, {b, ifb, addrB}} {
		if x[2] != "" {
			IP(t, "-n", x[0], "addr", "add", x[2], "dev", x[1])
		}
		IP(t, "-n", x[0], "link", "set", x[1], "up")
	}
}

// Do runs fn with the calling goroutine's thread inside namespace ns; sockets
// fn opens stay in ns. The thread is discarded if it cannot switch back.
func Do(ns string, fn func() error) error {
	runtime.LockOSThread()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer self.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter netns %s: %w", ns, err)
	}
	ferr := fn()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("leave netns %s: %w", ns, err) // thread stays locked and dies
	}
	runtime.UnlockOSThread()
	return ferr
}
