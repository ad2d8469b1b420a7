package serve

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/vela-appliance/vela/pxe/internal/netnstest"
)

// vm is one qemu machine of a boot lab. bios: SeaBIOS + the iPXE ROM;
// uefi: OVMF + the iPXE ROM; uefi-pxe: OVMF's own PXE with no ROM, which
// fetches snponly.efi over TFTP.
type vm struct{ name, mac, firmware string }

// bootLab is a namespace with bridge br0 (10.99.0.1/24) and taps, the boot
// services running in it (as a process), and qemu VMs on the taps.
type bootLab struct {
	t                       *testing.T
	dir, ns, ovmf, stateDir string
	l                       *logs
	sums                    map[string]string // machine -> sha256 of its config
	began                   time.Time
	vms                     []vm
}

// newBootLab starts the boot services for config (a testConfig-like text
// with %s for kernel and initramfs) with an Ignition config per machine.
func newBootLab(t *testing.T, configText string, machines []string) *bootLab {
	netnstest.Require(t, "qemu-system-x86_64", "cpio", "busybox")
	kernels, _ := filepath.Glob("/boot/vmlinuz-*")
	sort.Strings(kernels)
	b := &bootLab{t: t, ovmf: "/usr/share/ovmf/OVMF.fd", dir: t.TempDir(), l: &logs{}, sums: map[string]string{}}
	for _, p := range append([]string{b.ovmf, "/usr/lib/ipxe/undionly.kpxe"}, kernels...) {
		if _, err := os.Stat(p); err != nil {
			netnstest.Require(t, "missing-"+filepath.Base(p)) // skips, or fails in CI
		}
	}
	if len(kernels) == 0 {
		netnstest.Require(t, "a Debian kernel in /boot (linux-image-amd64)")
	}
	kernel := kernels[len(kernels)-1]
	initrd := buildGuest(t, kernel, b.dir)

	b.ns = netnstest.NS(t)
	netnstest.IP(t, "-n", b.ns, "link", "add", "br0", "type", "bridge")
	netnstest.IP(t, "-n", b.ns, "addr", "add", "10.99.0.1/24", "dev", "br0")
	netnstest.IP(t, "-n", b.ns, "link", "set", "br0", "up")
	for i := 0; i < 4; i++ {
		tap := fmt.Sprintf("tap%d", i)
		netnstest.IP(t, "-n", b.ns, "tuntap", "add", tap, "mode", "tap")
		netnstest.IP(t, "-n", b.ns, "link", "set", tap, "master", "br0", "up")
	}
	cfgPath := filepath.Join(b.dir, "config.yaml")
	writeFile(t, cfgPath, fmt.Sprintf(configText, kernel, initrd), 0o644)
	ignDir := filepath.Join(b.dir, "ignition")
	os.Mkdir(ignDir, 0o700)
	for _, m := range machines {
		c := fmt.Sprintf(`{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/hostname","contents":{"source":"data:,%s"}}]}}`, m)
		writeFile(t, filepath.Join(ignDir, m+".ign"), c, 0o600)
		h := sha256.Sum256([]byte(c))
		b.sums[m] = hex.EncodeToString(h[:])
	}
	b.stateDir = filepath.Join(b.dir, "state")
	pr, pw := io.Pipe()
	go b.l.read(pr)
	t.Cleanup(func() { pw.Close() })
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(helperEnv, cfgPath+" "+ignDir+" "+b.stateDir)
	start(t, b.ns, pw, self)
	os.Unsetenv(helperEnv)
	waitUntil(t, "the boot services", 20*time.Second, b.l, func() bool { return b.l.find(map[string]string{"msg": "boot services running"}) != nil })
	t.Cleanup(func() {
		if t.Failed() {
			for _, v := range b.vms {
				s, _ := os.ReadFile(filepath.Join(b.dir, v.name+".serial"))
				q, _ := os.ReadFile(filepath.Join(b.dir, v.name+".qemu"))
				t.Logf("%s: qemu said %q; serial console (last 3000 bytes):\n%s", v.name, q, s[max(0, len(s)-3000):])
			}
		}
	})
	return b
}

// boot starts the VMs at once, VM i on tap i.
func (b *bootLab) boot(vms ...vm) {
	b.vms, b.began = vms, time.Now()
	for i, v := range vms {
		args := []string{"-nodefaults", "-accel", "tcg", "-m", "512", "-smp", "1", "-display", "none", "-no-reboot", "-boot", "n",
			"-serial", "file:" + filepath.Join(b.dir, v.name+".serial"),
			"-netdev", fmt.Sprintf("tap,id=n0,ifname=tap%d,script=no,downscript=no", i),
			"-device", "virtio-net-pci,netdev=n0,mac=" + v.mac}
		if v.firmware == "uefi-pxe" {
			args[len(args)-1] += ",romfile="
		}
		if v.firmware != "bios" {
			args = append(args, "-bios", b.ovmf)
		}
		qlog, err := os.Create(filepath.Join(b.dir, v.name+".qemu"))
		if err != nil {
			b.t.Fatal(err)
		}
		start(b.t, b.ns, qlog, "qemu-system-x86_64", args...)
	}
}

// expectReport waits for v's report and checks it fetched its own config
// and went through every boot state.
func (b *bootLab) expectReport(v vm) {
	t, l := b.t, b.l
	t.Helper()
	waitUntil(t, v.name+"'s report", 150*time.Second, l, func() bool {
		return l.find(map[string]string{"msg": "machine state", "machine": v.name, "state": "reported"}) != nil
	})
	t.Logf("%s (%s): qemu start to report in %.1f s (TCG, %d VMs at once)", v.name, v.firmware, time.Since(b.began).Seconds(), len(b.vms))
	rep := l.find(map[string]string{"msg": "machine state", "machine": v.name, "state": "reported"})
	if got, want := rep["detail"], "sha256="+b.sums[v.name]; got != want {
		t.Errorf("%s reported %v, want %s (its own config)", v.name, got, want)
	}
	for _, st := range []string{"pxe-requested", "ipxe-loaded", "kernel-fetched", "config-fetched"} {
		if l.find(map[string]string{"msg": "machine state", "machine": v.name, "state": st}) == nil {
			t.Errorf("%s: no %s state emitted", v.name, st)
		}
	}
}

// expectNoConfig checks that nothing with mac's MAC got a config.
func (b *bootLab) expectNoConfig(mac string) {
	b.t.Helper()
	if m := b.l.find(map[string]string{"msg": "http request", "route": "ignition", "mac": mac, "code": "200"}); m != nil {
		b.t.Errorf("%s got a config: %v", mac, m)
	}
	if m := b.l.find(map[string]string{"msg": "machine state", "mac": mac, "state": "config-fetched"}); m != nil {
		b.t.Errorf("%s got a config: %v", mac, m)
	}
}
