package serve

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vela-appliance/vela/pxe/internal/netnstest"
	"github.com/vela-appliance/vela/pxe/inventory"
)

const testConfig = `version: 1
name: pxetest
network:
  interface: br0
  address: 10.99.0.1/24
  dhcp:
    mode: full
    pool: 10.99.0.100-10.99.0.150
    lease_time: 1h
  dns: [10.99.0.1]
os:
  image: custom
  kernel: %s
  initramfs: %s
  kernel_args: "console=ttyS0,115200 loglevel=4 panic=-1"
machines:
  - name: m1
    mac: 52:54:00:12:34:01
    role: member
    address: 10.99.0.11
  - name: m2
    mac: 52:54:00:12:34:02
    role: hypervisor
  - name: m3
    mac: 52:54:00:12:34:03
    role: hypervisor
`

const unknownMAC = "52:54:00:12:34:99"

// logs collects the JSON log lines of a running `vela pxe serve`.
type logs struct {
	mu    sync.Mutex
	lines []map[string]any
	raw   []string
}

func (l *logs) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		json.Unmarshal(sc.Bytes(), &m)
		l.mu.Lock()
		l.lines = append(l.lines, m)
		l.raw = append(l.raw, sc.Text())
		l.mu.Unlock()
	}
}

// find returns the first line where every key has the value wanted.
func (l *logs) find(want map[string]string) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
next:
	for _, m := range l.lines {
		for k, v := range want {
			if fmt.Sprint(m[k]) != v {
				continue next
			}
		}
		return m
	}
	return nil
}

// timeline lists state transitions and TFTP/DHCP events by time since t0.
func (l *logs) timeline(t0 time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, m := range l.lines {
		ts, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(m["time"]))
		switch m["msg"] {
		case "machine state", "dhcp offer", "tftp transfer done", "proxy boot options", "proxy: unknown machine recorded, not answered":
			fmt.Fprintf(&b, "%6.1f %-16s %-8v %v %v %v\n", ts.Sub(t0).Seconds(), m["msg"], m["machine"], m["mac"], m["state"], m["file"])
		}
	}
	return b.String()
}

func (l *logs) dump() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.raw, "\n")
}

// start runs a command in ns and stops it (by PID) at cleanup.
func start(t *testing.T, ns string, stdout io.Writer, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.Stdout, cmd.Stderr = stdout, stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
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
	})
	return cmd
}

func waitUntil(t *testing.T, what string, d time.Duration, l *logs, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("timed out after %s waiting for %s; server log:\n%s", d, what, l.dump())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// TestNetworkBootQEMU boots real firmware (SeaBIOS + iPXE ROM, OVMF + iPXE
// ROM, OVMF's own PXE) in qemu on taps in a fresh namespace, served only by
// the boot services in full DHCP mode. Each known VM must fetch its own
// Ignition config and report its sha256; an unknown MAC must get none.
func TestNetworkBootQEMU(t *testing.T) {
	b := newBootLab(t, testConfig, []string{"m1", "m2", "m3"})
	vms := []vm{{"m1", "52:54:00:12:34:01", "bios"}, {"m2", "52:54:00:12:34:02", "uefi"}, {"m3", "52:54:00:12:34:03", "uefi-pxe"}, {"unknown", unknownMAC, "bios"}}
	b.boot(vms...)
	for _, v := range vms[:3] {
		b.expectReport(v)
	}
	t.Logf("timeline (s after qemu start):\n%s", b.l.timeline(b.began))
	waitUntil(t, "the unknown VM's iPXE script", 60*time.Second, b.l, func() bool {
		return b.l.find(map[string]string{"msg": "http request", "route": "script", "mac": unknownMAC, "code": "200"}) != nil
	})
	b.expectNoConfig(unknownMAC)
	if b.l.find(map[string]string{"msg": "tftp transfer done", "file": "snponly.efi", "machine": "m3"}) == nil {
		t.Error("m3 (OVMF native PXE) did not fetch snponly.efi over TFTP")
	}
	found, err := inventory.ListDiscovered(b.stateDir)
	if err != nil || len(found) != 1 || found[0].MAC != unknownMAC || found[0].Arch != "bios" {
		t.Errorf("discovered machines: %+v, %v; want the unknown MAC only, arch bios", found, err)
	}
}

const proxyConfig = `version: 1
name: pxetest
network:
  interface: br0
  address: 10.99.0.1/24
  dhcp:
    mode: proxy
os:
  image: custom
  kernel: %s
  initramfs: %s
  kernel_args: "console=ttyS0,115200 loglevel=4 panic=-1"
machines:
  - name: m1
    mac: 52:54:00:12:34:01
    role: member
    address: 10.99.0.11
  - name: m3
    mac: 52:54:00:12:34:03
    role: hypervisor
`

// TestNetworkBootQEMUProxy runs the boot services in proxy mode beside
// another DHCP server (dnsmasq, addresses only, in its own namespace on the
// same bridge): known VMs boot and get their configs with addresses from
// dnsmasq; an unknown VM is recorded but gets no boot options at all.
func TestNetworkBootQEMUProxy(t *testing.T) {
	netnstest.Require(t, "dnsmasq")
	b := newBootLab(t, proxyConfig, []string{"m1", "m3"})
	other := netnstest.NS(t)
	netnstest.Veth(t, b.ns, "vother", "", other, "eth0", "10.99.0.2/24")
	netnstest.IP(t, "-n", b.ns, "link", "set", "vother", "master", "br0")
	start(t, other, io.Discard, "dnsmasq", "-k", "-u", "root", "--port=0", "--interface=eth0", "--bind-interfaces",
		"--dhcp-range=10.99.0.100,10.99.0.150,1h", "--dhcp-host=52:54:00:12:34:01,10.99.0.11",
		"--dhcp-leasefile="+filepath.Join(b.dir, "other.leases"), "--pid-file="+filepath.Join(b.dir, "other.pid"))
	vms := []vm{{"m1", "52:54:00:12:34:01", "bios"}, {"m3", "52:54:00:12:34:03", "uefi-pxe"}, {"unknown", unknownMAC, "bios"}}
	b.boot(vms...)
	for _, v := range vms[:2] {
		b.expectReport(v)
	}
	t.Logf("timeline (s after qemu start):\n%s", b.l.timeline(b.began))
	waitUntil(t, "the unknown VM to be recorded", 60*time.Second, b.l, func() bool {
		found, _ := inventory.ListDiscovered(b.stateDir)
		return len(found) == 1 && found[0].MAC == unknownMAC
	})
	if m := b.l.find(map[string]string{"mac": unknownMAC, "msg": "proxy boot options"}); m != nil {
		t.Errorf("the unknown VM got boot options: %v", m)
	}
	b.expectNoConfig(unknownMAC)
	if m := b.l.find(map[string]string{"msg": "dhcp offer"}); m != nil {
		t.Errorf("proxy mode offered an address: %v", m)
	}
}
