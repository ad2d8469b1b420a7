// The end-to-end test of the interactive installer: the real vela binary in
// tmux, through the wizard for a lab config, with discovery fed by a
// simulated PXE client on a bridge the test makes. VELA_E2E_BIN runs another
// vela binary.
package wizard

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/insomniacslk/dhcp/iana"
)

func need(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal(what)
	}
	t.Skip(what)
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

// testBridge makes a bridge with one veth port; the returned peer is where
// the simulated machine sends from.
func testBridge(t *testing.T) (bridge, peer string) {
	n := os.Getpid() % 100000
	bridge, port, peer := fmt.Sprintf("vtuibr%d", n), fmt.Sprintf("vtuia%d", n), fmt.Sprintf("vtuib%d", n)
	sh(t, "ip", "link", "add", bridge, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", bridge).Run() })
	sh(t, "ip", "link", "add", port, "type", "veth", "peer", "name", peer)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", port).Run() })
	sh(t, "ip", "link", "set", port, "master", bridge)
	for _, l := range []string{bridge, port, peer} {
		sh(t, "ip", "link", "set", l, "up")
	}
	return bridge, peer
}

// pxeDiscover sends one DHCPDISCOVER as BIOS PXE firmware would, out of
// peer, from 0.0.0.0:68 in a raw frame (a UDP socket would take a source
// address of this host, which the bridge side drops as a martian).
func pxeDiscover(t *testing.T, peer string, mac net.HardwareAddr) {
	t.Helper()
	req, err := dhcpv4.NewDiscovery(mac,
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := nclient4.NewRawUDPConn(peer, 68)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.WriteTo(req.ToBytes(), &net.UDPAddr{IP: net.IPv4bcast, Port: 67}); err != nil {
		t.Fatal(err)
	}
}

func TestTmuxWizardLab(t *testing.T) {
	_, err := exec.LookPath("tmux")
	need(t, err == nil, "tmux is missing (apt-get install -y tmux)")
	need(t, os.Geteuid() == 0, "needs root (a bridge, and DHCP on it)")
	dir := t.TempDir()
	bin := os.Getenv("VELA_E2E_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "vela")
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/vela-appliance/vela/cmd/vela").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	bridge, peer := testBridge(t)
	session := fmt.Sprintf("vela-tui-e2e-%d", os.Getpid())
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", "-c", dir,
		"env TERM=xterm-256color NO_COLOR=1 "+bin+" install --dry-run --state-dir "+filepath.Join(dir, "state")+
			" --image-dir "+filepath.Join(dir, "images")+"; echo EXIT=$?; read x")
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", session).Run() })

	screen := func() string { return tmux("capture-pane", "-p", "-t", session) }
	keys := func(k ...string) { tmux(append([]string{"send-keys", "-t", session}, k...)...) }
	// poll waits for text on the screen, doing act between looks.
	poll := func(text string, act func()) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for !strings.Contains(screen(), text) {
			if time.Now().After(deadline) {
				t.Fatalf("%q did not appear:\n%s", text, screen())
			}
			if act != nil {
				act()
			}
			<-tick.C
		}
	}
	enter := func() { keys("Enter") }

	poll("1/8 Welcome", nil)
	keys("Enter")
	poll("2/8 Target", nil)
	keys("Down", "Enter", "Enter")
	poll("Lab bridge name", nil)
	keys("C-u")
	keys("-l", bridge)
	keys("Enter")
	poll("4/8 OS image", enter)
	poll("5/8 Machines", enter)
	poll("Listening for machines", nil)
	mac := net.HardwareAddr{0x52, 0x54, 0x00, 0xe2, 0xe0, 0x01}
	poll("(discovered)", func() { pxeDiscover(t, peer, mac) })
	keys("Down", "Down", "Down", "h")
	poll("m-e2e001", nil)
	keys("Enter")
	poll("6/8 SSH keys", nil)
	keys("-l", testKey)
	keys("Tab")
	poll("7/8 Admin", enter)
	poll("8/8 Review", enter)
	poll("vela config validate: valid", nil)
	path := filepath.Join(dir, "lab.yaml")
	keys("C-u")
	keys("-l", path)
	keys("Enter")
	poll("EXIT=", nil)
	if s := screen(); !strings.Contains(s, "EXIT=0") {
		t.Fatalf("vela install --dry-run after the wizard:\n%s", s)
	}
	out, err := exec.Command(bin, "config", "validate", path).CombinedOutput()
	if err != nil {
		t.Fatalf("vela config validate %s: %v\n%s", path, err, out)
	}
	b, _ := os.ReadFile(path)
	for _, want := range []string{"mac: 52:54:00:e2:e0:01", "role: hypervisor", "bridge: " + bridge, testKey} {
		if !strings.Contains(string(b), want) {
			t.Errorf("saved config lacks %q:\n%s", want, b)
		}
	}
}

// TestTmuxAccessible: with TERM=dumb the same binary asks line by line.
func TestTmuxAccessible(t *testing.T) {
	_, err := exec.LookPath("tmux")
	need(t, err == nil, "tmux is missing (apt-get install -y tmux)")
	dir := t.TempDir()
	bin := os.Getenv("VELA_E2E_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "vela")
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/vela-appliance/vela/cmd/vela").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	session := fmt.Sprintf("vela-tui-a11y-%d", os.Getpid())
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("new-session", "-d", "-s", session, "-x", "100", "-y", "50", "-c", dir,
		"env TERM=dumb "+bin+" install --dry-run --state-dir "+filepath.Join(dir, "state")+"; echo EXIT=$?; read x")
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", session).Run() })
	screen := func() string { return run("capture-pane", "-p", "-S", "-200", "-t", session) }
	answer := func(prompt, line string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for !strings.HasSuffix(strings.TrimRight(screen(), "\n "), strings.TrimSpace(prompt)) {
			if time.Now().After(deadline) {
				t.Fatalf("prompt %q did not come:\n%s", prompt, screen())
			}
			<-tick.C
		}
		run("send-keys", "-t", session, "-l", line)
		run("send-keys", "-t", session, "Enter")
	}
	path := filepath.Join(dir, "lab.yaml")
	answer("Where does the appliance run? [rack]:", "2")
	answer("Appliance name [vela]:", "")
	answer("Lab bridge name [vela-lab0]:", "")
	answer("This host's address on the boot network [10.77.0.1/24]:", "")
	answer("DHCP mode [full]:", "")
	answer("DHCP pool [10.77.0.100-10.77.0.199]:", "")
	answer("Gateway for the machines (optional) []:", "")
	answer("DNS servers (optional, comma separated) [10.77.0.1]:", "")
	answer("Operating system [vela-os]:", "")
	answer("Extra kernel arguments (optional) [console=ttyS0,115200]:", "")
	answer("machines>", "done")
	answer(">", testKey)
	answer(">", "")
	answer("…or a public key file (optional) []:", "")
	answer("Administrator name [admin]:", "")
	answer("First tenant (optional) []:", "demo")
	answer("Its first cluster (optional) []:", "")
	answer("Save to [vela-install.yaml]:", path)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(screen(), "EXIT=") {
		if time.Now().After(deadline) {
			t.Fatalf("vela install did not end:\n%s", screen())
		}
		time.Sleep(100 * time.Millisecond) // polling the pane with a deadline
	}
	if s := screen(); !strings.Contains(s, "EXIT=0") || strings.Contains(s, "\x1b[") {
		t.Fatalf("accessible run:\n%s", s)
	}
	if out, err := exec.Command(bin, "config", "validate", path).CombinedOutput(); err != nil {
		t.Fatalf("vela config validate: %v\n%s", err, out)
	}
}
