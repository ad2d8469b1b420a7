package velaos

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/bootlab"
	"github.com/vela-appliance/vela/images/store"
)

// installEvidence runs at every boot of the test machine: it counts boots in
// /var/lib/vela, leaves a file in /var/lib/docker and posts what it sees.
const installEvidence = `#!/bin/sh
mkdir -p /var/lib/vela
echo boot >>/var/lib/vela/test-boots
n=$(wc -l </var/lib/vela/test-boots)
if [ -e /var/lib/docker/vela-test ]; then d=docker-kept; else d=docker-new; fi
date >/var/lib/docker/vela-test
fw=bios
[ -d /sys/firmware/efi ] && fw=uefi
# systemd-boot's LoaderInfo: 4 bytes of attributes, then UTF-16 (piped: tail cannot seek in efivarfs).
loader=$(cat /sys/firmware/efi/efivars/LoaderInfo-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f 2>/dev/null | tail -c +5 | tr -d '\000')
{ cat /etc/vela-test/hello; echo; echo "boots=$n $d"; echo "firmware=$fw loader=${loader:-none}"; findmnt -nr -o FSTYPE,SOURCE /var/lib/docker; cat /proc/cmdline; } |
	curl -sS --retry 5 --retry-connrefused --data-binary @- http://` + bootlab.GuestAddr + `/evidence
`

func installIgnition() []byte {
	unit := "[Unit]\nAfter=network-online.target\nWants=network-online.target\n[Service]\nType=oneshot\n" +
		"ExecStart=/usr/local/bin/vela-test-evidence\n[Install]\nWantedBy=multi-user.target\n"
	cfg := map[string]any{
		"ignition": map[string]any{"version": "3.4.0"},
		"storage": map[string]any{"files": []any{
			map[string]any{"path": "/etc/vela-test/hello", "mode": 0o644, "contents": map[string]any{"source": "data:,hello%20from%20ignition"}},
			map[string]any{"path": "/usr/local/bin/vela-test-evidence", "mode": 0o755,
				"contents": map[string]any{"source": "data:;base64," + b64(installEvidence)}},
		}},
		"systemd": map[string]any{"units": []any{map[string]any{"name": "vela-test.service", "enabled": true, "contents": unit}}},
	}
	b, _ := json.Marshal(cfg)
	return b
}

func b64(s string) string {
	b, _ := json.Marshal([]byte(s)) // a JSON string of standard base64
	return strings.Trim(string(b), `"`)
}

// installLab is the boot server, the firmware and the disk of one test
// machine; its VMs run one at a time.
type installLab struct {
	t    *testing.T
	m    store.Manifest
	dir  string
	sha  string
	srv  *bootlab.Server
	lay  layout
	disk string
	vars string // the machine's UEFI variable store, kept across its boots
}

func newInstallLab(t *testing.T, lay layout, diskSize int64) *installLab {
	if lay.fw == bootlab.UEFI {
		if err := bootlab.HaveOVMF(); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal(err)
			}
			t.Skip(err)
		}
	}
	st, res := buildForTest(t)
	m := res.Manifest
	rootfs, _ := m.Artifact(images.Rootfs)
	dir := st.VersionDir(images.VelaOS, m.Version)
	srv, err := bootlab.NewServer(map[string]string{"/images/vela-os/rootfs": filepath.Join(dir, images.Rootfs)}, installIgnition())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	disk := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(disk, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(disk, diskSize); err != nil { // sparse
		t.Fatal(err)
	}
	return &installLab{t: t, m: m, dir: dir, sha: rootfs.SHA256, srv: srv, lay: lay, disk: disk,
		vars: filepath.Join(filepath.Dir(disk), "uefi-vars.fd")}
}

// boot starts a VM on the lab's disk under the lab's firmware: a network
// boot with vela.install_dev=/dev/vda when install is set, else from the
// disk only (no -kernel).
func (l *installLab) boot(phase string, install bool) *bootlab.VM {
	l.t.Helper()
	cfg := bootlab.VMConfig{Disk: l.disk, ServerPort: l.srv.Port, Firmware: l.lay.fw}
	if l.lay.fw == bootlab.UEFI {
		cfg.UEFIVars = l.vars
	}
	if install {
		cfg.Kernel = filepath.Join(l.dir, images.Kernel)
		cfg.Initrd = filepath.Join(l.dir, images.Initramfs)
		cfg.Append = bootArgs(l.m, l.sha) + " vela.install_dev=/dev/vda"
	}
	path := filepath.Join(l.t.TempDir(), phase+".console")
	if p := os.Getenv("VELA_TEST_CONSOLE"); p != "" {
		path = p + "." + phase
	}
	console, err := os.Create(path)
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { console.Close() })
	cfg.Console = console
	vm, err := bootlab.Start(cfg)
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(vm.Stop)
	return vm
}

// await waits for a report of each state in want and, with evidence set,
// one evidence post; any other report fails the test.
func (l *installLab) await(ctx context.Context, vm *bootlab.VM, evidence bool, want ...string) (map[string]bootlab.Report, string) {
	l.t.Helper()
	got := map[string]bootlab.Report{}
	var ev string
	for len(got) < len(want) || (evidence && ev == "") {
		select {
		case e := <-l.srv.Evidence:
			ev = e
		case r := <-l.srv.Reports:
			ok := false
			for _, w := range want {
				ok = ok || r.State == w
			}
			if !ok {
				l.t.Fatalf("machine reported %q: %s\nconsole tail:\n%s", r.State, r.Detail, vm.Tail(60))
			}
			r.Detail += fmt.Sprintf(" (at %.1fs)", time.Since(vm.Started).Seconds())
			got[r.State] = r
		case <-ctx.Done():
			l.t.Fatalf("reports %v (want %v), evidence %q: not within the deadline\nrequests: %v\nconsole tail:\n%s",
				got, want, ev, l.srv.Requests(), vm.Tail(60))
		}
	}
	return got, ev
}

func (l *installLab) ignitionFetches() int {
	n := 0
	for _, r := range l.srv.Requests() {
		if strings.HasPrefix(r, "GET /ignition/") {
			n++
		}
	}
	return n
}

func wantAll(t *testing.T, what, text string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(text, s) {
			t.Errorf("%s lacks %q:\n%s", what, s, text)
		}
	}
}

// TestInstallToDisk installs vela-os on a blank disk from a network boot,
// then boots the same VM from that disk only (BIOS, no kernel from the
// network): the system reaches multi-user.target with what the first boot
// wrote (Ignition's files, /var/lib/vela, /var/lib/docker) still there, and
// Ignition does not run again.
func TestInstallToDisk(t *testing.T) { testInstallToDisk(t, biosLayout) }

// TestInstallToDiskUEFI is TestInstallToDisk under UEFI firmware (OVMF):
// the install writes the GPT layout and the disk boots through systemd-boot
// at the removable path, with no NVRAM entry.
func TestInstallToDiskUEFI(t *testing.T) { testInstallToDisk(t, uefiLayout) }

func testInstallToDisk(t *testing.T, lay layout) {
	l := newInstallLab(t, lay, 8<<30)
	// About 3 minutes per boot on an idle host (TCG); the bounds allow a busy one.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	vm := l.boot("install", true)
	reps, ev := l.await(ctx, vm, true, "installed", "booted")
	wantAll(t, "installed report", reps["installed"].Detail, "vela-os installed on /dev/vda")
	wantAll(t, "first boot evidence", ev, "hello from ignition", "boots=1 docker-new", "ext4 "+lay.state+"[/docker]",
		"vela.install_dev=/dev/vda", "firmware="+string(lay.fw)+" loader=none")
	t.Logf("network boot with install: %s; %s; evidence:\n%s", reps["installed"].Detail, reps["booted"].Detail, ev)
	vm.Stop() // a hard power-off: the disk must not need a clean shutdown
	fetches := l.ignitionFetches()
	if err := lay.check(l.disk, true); err != nil {
		t.Errorf("after the install: %v", err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	vm = l.boot("disk", false)
	reps, ev = l.await(ctx, vm, true, "booted")
	wantAll(t, "booted report", reps["booted"].Detail, "multi-user.target active")
	wantAll(t, "disk boot evidence", ev, "hello from ignition", "boots=2 docker-kept", "ext4 "+lay.state+"[/docker]",
		"vela.root_dev=LABEL=VELA-OS", "firmware="+string(lay.fw)+" loader="+lay.loader)
	if strings.Contains(ev, "vela.rootfs=") || strings.Contains(ev, "ignition.config.url") {
		t.Errorf("the disk boot's command line still has the network root or Ignition:\n%s", ev)
	}
	if n := l.ignitionFetches(); n != fetches {
		t.Errorf("Ignition config fetched %d times after the install, want none", n-fetches)
	}
	for _, line := range []string{"booting the installed system", "ignition: applied on the first boot"} {
		if _, err := vm.WaitLine(ctx, line); err != nil {
			t.Error(err)
		}
	}
	t.Logf("disk boot: %s; evidence:\n%s", reps["booted"].Detail, ev)
}

// TestInstallResumesAfterPowerLoss cuts the power while the install writes
// the root image: the disk must not be bootable (no MBR boot code, or no
// EFI/BOOT/BOOTX64.EFI, yet), and the next network boot recognises the
// disk as Vela's and installs again.
func TestInstallResumesAfterPowerLoss(t *testing.T) {
	for _, lay := range layouts {
		t.Run(string(lay.fw), func(t *testing.T) {
			l := newInstallLab(t, lay, 8<<30)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()

			vm := l.boot("cut", true)
			if _, err := vm.WaitLine(ctx, "install: writing kernel"); err != nil {
				t.Fatalf("%v\n%s", err, vm.Tail(40))
			}
			vm.Stop()
			if err := lay.check(l.disk, false); err != nil {
				t.Errorf("after a power loss mid-install: %v", err)
			}

			ctx, cancel = context.WithTimeout(context.Background(), 6*time.Minute)
			defer cancel()
			vm = l.boot("reinstall", true)
			reps, _ := l.await(ctx, vm, false, "installed")
			if _, err := vm.WaitLine(ctx, "MiB, vela): partitioning"); err != nil {
				t.Error(err)
			}
			t.Logf("reinstall after a power loss: %s", reps["installed"].Detail)
			vm.Stop()
			if err := lay.check(l.disk, true); err != nil {
				t.Errorf("after the reinstall: %v", err)
			}
		})
	}
}

// TestInstallRefusesForeignDisk boots with an install disk holding a
// partition table Vela did not write (MBR under BIOS, GPT under UEFI): the
// initramfs must refuse, say why on the console and to the boot server,
// and leave the disk untouched.
func TestInstallRefusesForeignDisk(t *testing.T) {
	for _, lay := range layouts {
		t.Run(string(lay.fw), func(t *testing.T) {
			l := newInstallLab(t, lay, 5<<30)
			lay.writeForeign(t, l.disk)
			before := fingerprint(t, l.disk)

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			vm := l.boot("foreign", true)
			reps, _ := l.await(ctx, vm, false, "failed")
			wantAll(t, "failed report", reps["failed"].Detail, "install disk /dev/vda holds data Vela did not write", lay.pttype, "refusing to wipe it")
			if _, err := vm.WaitLine(ctx, "FAILED: install disk /dev/vda holds data Vela did not write"); err != nil {
				t.Error(err)
			}
			vm.Stop()
			if after := fingerprint(t, l.disk); after != before {
				t.Errorf("the refused disk changed: %s -> %s", before, after)
			}
		})
	}
}
