// Guest builds the tiny network-boot guest of the boot tests: Debian's kernel
// and a busybox initramfs that brings up virtio networking, fetches the
// Ignition URL from its kernel command line, POSTs the sha256 of what it got
// to vela.report and powers off.
package pxetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// guestModules are the Debian kernel's virtio network modules, in load order.
var guestModules = []string{"virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci", "failover", "net_failover", "virtio_net"}

// guestInit is the initramfs /init: network up, fetch the Ignition URL from
// the kernel command line, report its sha256 to vela.report, power off.
const guestInit = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in MODULES; do insmod /lib/modules/$m.ko || echo "VELA-TEST insmod $m failed"; done
ip link set eth0 up
udhcpc -i eth0 -s /udhcpc.sh -q -f -n -t 20 -T 1 || echo "VELA-TEST no lease"
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | head -n 1; }
ign=$(arg ignition.config.url)
rep=$(arg vela.report)
if wget -q -O /config.ign "$ign"; then
  sum=$(sha256sum /config.ign | cut -d' ' -f1)
  body="{\"state\":\"booted\",\"detail\":\"sha256=$sum\"}"
else
  body="{\"state\":\"failed\",\"detail\":\"fetching the ignition config failed\"}"
fi
echo "VELA-TEST report $body"
wget -q -O /dev/null --header "Content-Type: application/json" --post-data "$body" "$rep" || echo "VELA-TEST report failed"
echo "VELA-TEST done"
poweroff -f
`

const udhcpcScript = `#!/bin/sh
[ "$1" = bound ] || [ "$1" = renew ] || exit 0
ifconfig "$interface" "$ip" netmask "$subnet" up
`

// Kernel returns the newest Debian kernel in /boot, or "" when none is there.
func Kernel() string {
	kernels, _ := filepath.Glob("/boot/vmlinuz-*")
	sort.Strings(kernels)
	if len(kernels) == 0 {
		return ""
	}
	return kernels[len(kernels)-1]
}

// BuildGuest makes the tiny initramfs from busybox-static and the modules of
// the Debian kernel at kernelPath; it returns the initramfs path.
func BuildGuest(t *testing.T, kernelPath, dir string) string {
	t.Helper()
	ver := strings.TrimPrefix(filepath.Base(kernelPath), "vmlinuz-")
	root := filepath.Join(dir, "initramfs-root")
	for _, d := range []string{"bin", "proc", "sys", "dev", "lib/modules"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, "/bin/busybox", filepath.Join(root, "bin/busybox"), 0o755)
	for _, m := range guestModules {
		matches, _ := filepath.Glob(filepath.Join("/lib/modules", ver, "kernel/*/*", m+".ko"))
		more, _ := filepath.Glob(filepath.Join("/lib/modules", ver, "kernel/*/*/*", m+".ko"))
		matches = append(matches, more...)
		if len(matches) == 0 {
			t.Fatalf("module %s.ko of kernel %s not found under /lib/modules/%s; install linux-image-amd64", m, ver, ver)
		}
		copyFile(t, matches[0], filepath.Join(root, "lib/modules", m+".ko"), 0o644)
	}
	WriteFile(t, filepath.Join(root, "init"), strings.Replace(guestInit, "MODULES", strings.Join(guestModules, " "), 1), 0o755)
	WriteFile(t, filepath.Join(root, "udhcpc.sh"), udhcpcScript, 0o755)
	out := filepath.Join(dir, "initramfs.cpio")
	cmd := exec.Command("sh", "-c", "find . | cpio -o -H newc --quiet > "+out)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio: %v\n%s", err, b)
	}
	return out
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(t, dst, string(b), mode)
}

// WriteFile writes a file or fails the test.
func WriteFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
