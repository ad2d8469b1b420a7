package cpinventory_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/member"
	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/pxe/cpinventory"
	"github.com/vela-appliance/vela/pxe/internal/netnstest"
	"github.com/vela-appliance/vela/pxe/pxetest"
)

// inNS names the namespace the test body runs in (the parent sets it when
// it runs this test binary again inside the namespace it made).
const inNS = "VELA_TEST_DAY2_NS"

const (
	admittedMAC = "52:54:00:98:00:11"
	unknownMAC  = "52:54:00:98:00:99"
)

const day2Config = `version: 1
name: day2
network:
  interface: br0
  address: 10.98.0.1/24
  dhcp: {mode: full, pool: 10.98.0.100-10.98.0.150, lease_time: 1h}
os:
  image: custom
  kernel: %s
  initramfs: %s
  kernel_args: "console=ttyS0,115200 loglevel=4 panic=-1"
ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1NOqE8kG/C3vLkR8a2j9qPB01m5DdJ+dYeJj2u0cjr op@x"]
machines:
  - {name: m1, mac: "52:54:00:98:00:01", role: both, address: 10.98.0.2}
discovery: {mode: admit, role: hypervisor}
`

// TestDay2NetworkBoot runs a real member (Raft on disk, the API) with the
// day-2 boot services on a bridge in a fresh namespace, the seed long gone:
// the install config is stored through the API, a machine is admitted by
// MAC, and two qemu VMs (SeaBIOS + iPXE) network-boot. The admitted one
// must get an Ignition config rendered for it (with a fresh agent join
// token) and report; the unknown one must be recorded as discovered and
// get no config.
func TestDay2NetworkBoot(t *testing.T) {
	if os.Getenv(inNS) == "" {
		runInNamespace(t, "TestDay2NetworkBoot", []string{"10.98.0.2/24"}, 2)
		return
	}
	kernel := pxetest.Kernel()
	dir := t.TempDir()
	initrd := pxetest.BuildGuest(t, kernel, dir)
	m1 := startMember(t, dir, "m1", "10.98.0.2", "", "")
	l, ctx := m1.l, context.Background()
	c := adminClient(t, dir, m1.api)

	// Handover: the installer stores its config; then an operator admits.
	text := fmt.Sprintf(day2Config, kernel, initrd)
	loaded, _, diags := config.Parse("day2.yaml", []byte(text))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	yaml, err := cpinventory.PortableConfig(loaded, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutInstallConfig(ctx, yaml); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AdmitMachine(ctx, api.AdmitRequest{Name: "hv1", MAC: admittedMAC}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the boot services", 30*time.Second, l, func() bool { return l.find(map[string]string{"msg": "boot services running"}) != nil })

	began := time.Now()
	qemu(t, dir, 0, "hv1", admittedMAC)
	qemu(t, dir, 1, "unknown", unknownMAC)
	poll(t, "hv1 to report", 90*time.Second, l, func() bool {
		ms, err := c.Machines(ctx)
		return err == nil && len(ms) == 2 && ms[0].Name == "hv1" && ms[0].State == fsm.MachineReported
	})
	t.Logf("hv1: qemu start to reported in the replicated state in %.1f s (TCG, 2 VMs)", time.Since(began).Seconds())
	rendered := l.find(map[string]string{"msg": "ignition config rendered", "machine": "hv1"})
	reported := l.find(map[string]string{"msg": "machine state", "machine": "hv1", "state": "reported"})
	if rendered == nil || reported == nil || reported["detail"] != "sha256="+fmt.Sprint(rendered["sha256"]) {
		t.Errorf("hv1 reported %v; the config rendered for it was %v", reported, rendered)
	}
	if rendered != nil && fmt.Sprint(rendered["role"]) != fsm.JoinAgent {
		t.Errorf("hv1's config carries a %v join token, want agent", rendered["role"])
	}

	poll(t, "the unknown VM to be discovered", 60*time.Second, l, func() bool {
		ds, err := c.DiscoveredMachines(ctx)
		return err == nil && len(ds) == 1 && ds[0].MAC == unknownMAC
	})
	poll(t, "the unknown VM's iPXE script", 60*time.Second, l, func() bool {
		return l.find(map[string]string{"msg": "http request", "route": "script", "mac": unknownMAC, "code": "200"}) != nil
	})
	for _, bad := range []map[string]string{
		{"msg": "http request", "route": "ignition", "mac": unknownMAC, "code": "200"},
		{"msg": "machine state", "mac": unknownMAC, "state": "config-fetched"},
	} {
		if m := l.find(bad); m != nil {
			t.Errorf("the unknown VM got a config: %v", m)
		}
	}
	if n := l.count(map[string]string{"msg": "ignition config rendered"}); n != 1 {
		t.Errorf("%d configs rendered, want 1 (hv1's, once)", n)
	}
}

// runInNamespace makes the boot network (a namespace, bridge br0 with the
// members' addresses, taps tap0..) and runs test again inside it: the test
// body, the members and qemu all run there.
func runInNamespace(t *testing.T, test string, addrs []string, taps int) {
	netnstest.Require(t, "qemu-system-x86_64", "cpio", "busybox")
	for _, p := range []string{"/usr/lib/ipxe/qemu/pxe-virtio.rom", "/usr/lib/ipxe/undionly.kpxe"} {
		if _, err := os.Stat(p); err != nil {
			netnstest.Require(t, "missing-"+filepath.Base(p)) // skips, or fails in CI
		}
	}
	if pxetest.Kernel() == "" {
		netnstest.Require(t, "a Debian kernel in /boot (linux-image-amd64)")
	}
	ns := netnstest.NS(t)
	netnstest.IP(t, "-n", ns, "link", "add", "br0", "type", "bridge")
	for _, a := range addrs {
		netnstest.IP(t, "-n", ns, "addr", "add", a, "dev", "br0")
	}
	netnstest.IP(t, "-n", ns, "link", "set", "br0", "up")
	for i := range taps {
		tap := fmt.Sprintf("tap%d", i)
		netnstest.IP(t, "-n", ns, "tuntap", "add", tap, "mode", "tap")
		netnstest.IP(t, "-n", ns, "link", "set", tap, "master", "br0", "up")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, self, "-test.run=^"+test+"$", "-test.v", "-test.timeout=170s")
	cmd.Env = append(os.Environ(), inNS+"="+ns)
	out, err := cmd.CombinedOutput()
	t.Logf("inside namespace %s:\n%s", ns, out)
	if err != nil {
		t.Fatalf("the test inside the namespace failed: %v", err)
	}
}

// testMember is an in-process member; stop ends it (and cleanup does).
type testMember struct {
	id, api string
	l       *logs
	stop    func()
}

// startMember runs member id on ip with the boot services on br0:
// bootstrapping when join is "", else joining through join with token.
func startMember(t *testing.T, dir, id, ip, join, token string) *testMember {
	t.Helper()
	m := &testMember{id: id, api: freeAddr(t, ip), l: &logs{}}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	mb, err := member.New(member.Config{DataDir: filepath.Join(dir, id), ID: id, RaftAddr: freeAddr(t, ip), APIAddr: m.api,
		CAFile: filepath.Join(dir, "ca.pem"), Bootstrap: join == "", Join: join, JoinToken: token, Ready: ready,
		Logger: slog.New(slog.NewJSONHandler(m.l, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Boot:   &member.BootConfig{Interface: "br0", ImagesDir: dir, StateDir: filepath.Join(dir, id, "pxe")}})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- mb.Run(ctx) }()
	var once sync.Once
	m.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-ran; err != nil {
				t.Errorf("member %s: %v", id, err)
			}
		})
	}
	t.Cleanup(func() {
		m.stop()
		if t.Failed() {
			t.Logf("member %s log:\n%s", id, m.l.dump())
		}
	})
	select {
	case <-ready:
	case err := <-ran:
		t.Fatalf("member %s stopped: %v\n%s", id, err, m.l.dump())
	case <-time.After(30 * time.Second):
		t.Fatalf("member %s not ready in 30 s\n%s", id, m.l.dump())
	}
	return m
}

// freeAddr returns ip:PORT with a port free now.
func freeAddr(t *testing.T, ip string) string {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func adminClient(t *testing.T, dir, apiAddr string) *client.Client {
	tok, err := os.ReadFile(filepath.Join(dir, "m1", "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Server: apiAddr, Token: strings.TrimSpace(string(tok)), CAPEM: ca, Retry: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// qemu boots a VM (SeaBIOS + iPXE ROM) on tap i; it is killed by PID at cleanup.
func qemu(t *testing.T, dir string, i int, name, mac string) {
	args := []string{"-nodefaults", "-accel", "tcg", "-m", "512", "-smp", "1", "-display", "none", "-no-reboot", "-boot", "n",
		"-serial", "file:" + filepath.Join(dir, name+".serial"),
		"-netdev", fmt.Sprintf("tap,id=n0,ifname=tap%d,script=no,downscript=no", i),
		"-device", "virtio-net-pci,netdev=n0,mac=" + mac}
	cmd := exec.Command("qemu-system-x86_64", args...)
	out, err := os.Create(filepath.Join(dir, name+".qemu"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start qemu: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			s, _ := os.ReadFile(filepath.Join(dir, name+".serial"))
			q, _ := os.ReadFile(filepath.Join(dir, name+".qemu"))
			t.Logf("%s: qemu said %q; serial console (last 3000 bytes):\n%s", name, q, s[max(0, len(s)-3000):])
		}
	})
}

// poll waits for cond, checking every 100 ms, failing after d.
func poll(t *testing.T, what string, d time.Duration, l *logs, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logs collects JSON log lines.
type logs struct {
	mu    sync.Mutex
	lines []map[string]any
	raw   []string
}

// Write takes whole lines: slog writes one record per call.
func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		var m map[string]any
		json.Unmarshal([]byte(line), &m)
		l.lines = append(l.lines, m)
		l.raw = append(l.raw, line)
	}
	return len(p), nil
}

func (l *logs) match(want map[string]string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
next:
	for _, m := range l.lines {
		for k, v := range want {
			if fmt.Sprint(m[k]) != v {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

func (l *logs) find(want map[string]string) map[string]any {
	if ms := l.match(want); len(ms) > 0 {
		return ms[0]
	}
	return nil
}

func (l *logs) count(want map[string]string) int { return len(l.match(want)) }

func (l *logs) dump() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.raw, "\n")
}

var _ io.Writer = (*logs)(nil)
