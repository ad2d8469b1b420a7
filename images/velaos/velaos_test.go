package velaos

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRecipeHash(t *testing.T) {
	base := DefaultRecipe()
	if base.Hash() != DefaultRecipe().Hash() {
		t.Fatal("the same recipe hashes differently")
	}
	changes := map[string]func(r *Recipe){
		"package":  func(r *Recipe) { r.Packages = append(r.Packages, "vim") },
		"mirror":   func(r *Recipe) { r.Mirror = "http://mirror.example/debian" },
		"module":   func(r *Recipe) { r.Modules = r.Modules[1:] },
		"ldflags":  func(r *Recipe) { r.IgnitionLDFlags = nil },
		"squashfs": func(r *Recipe) { r.SquashfsLevel = 15 },
		"input":    func(r *Recipe) { r.Inputs = map[string]string{"busybox": "x"} },
	}
	for name, change := range changes {
		r := DefaultRecipe()
		change(&r)
		if r.Hash() == base.Hash() {
			t.Errorf("changing the %s does not change the recipe hash", name)
		}
	}
	if v := base.Version(); !strings.HasPrefix(v, "bookworm-") || len(v) != len("bookworm-")+12 {
		t.Errorf("Version = %q", v)
	}
}

// TestCpio checks the archive with the cpio tool when present, else by
// reading the newc headers back.
func TestCpio(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	os.WriteFile(filepath.Join(dir, "init"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "bin/busybox"), bytes.Repeat([]byte{1, 2, 3}, 1001), 0o755)
	os.Symlink("busybox", filepath.Join(dir, "bin/sh"))
	out := filepath.Join(t.TempDir(), "initrd.gz")
	if err := writeInitramfs(dir, out); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(out)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	var names []string
	for off := 0; off < len(raw); {
		h := string(raw[off : off+110])
		if h[:6] != "070701" {
			t.Fatalf("bad magic at %d", off)
		}
		hex := func(i int) int {
			var v int
			for _, c := range h[6+8*i : 14+8*i] {
				v = v*16 + strings.IndexRune("0123456789ABCDEF", c)
			}
			return v
		}
		size, nameLen := hex(6), hex(11)
		name := string(raw[off+110 : off+110+nameLen-1])
		off = (off + 110 + nameLen + 3) &^ 3
		off = (off + size + 3) &^ 3
		if name == "TRAILER!!!" {
			break
		}
		names = append(names, name)
	}
	want := []string{"bin", "bin/busybox", "bin/sh", "init"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("archive entries (-want +got):\n%s", diff)
	}
	if _, err := exec.LookPath("cpio"); err == nil {
		cmd := exec.Command("sh", "-c", "gzip -dc "+out+" | cpio -t --quiet")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("cpio -t: %v\n%s", err, b)
		}
		got := strings.Fields(string(b))
		sort.Strings(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("cpio -t (-want +got):\n%s", diff)
		}
	}
}

func TestCopyModules(t *testing.T) {
	root, dst := t.TempDir(), t.TempDir()
	mods := filepath.Join(root, "lib/modules/6.1.0-test")
	for _, m := range []string{"kernel/drivers/net/virtio_net.ko", "kernel/net/core/failover.ko", "kernel/drivers/net/net_failover.ko", "kernel/fs/squashfs/squashfs.ko", "kernel/drivers/gpu/drm.ko"} {
		os.MkdirAll(filepath.Join(mods, filepath.Dir(m)), 0o755)
		os.WriteFile(filepath.Join(mods, m), []byte(m), 0o644)
	}
	os.WriteFile(filepath.Join(mods, "modules.dep"), []byte(`kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/net/core/failover.ko:
kernel/fs/squashfs/squashfs.ko:
kernel/drivers/gpu/drm.ko:
`), 0o644)
	found, err := copyModules(root, dst, "6.1.0-test", []string{"virtio_net", "squashfs", "overlay"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"virtio_net", "squashfs"}, found); diff != "" {
		t.Errorf("found (-want +got):\n%s", diff)
	}
	for _, m := range []string{"kernel/drivers/net/virtio_net.ko", "kernel/net/core/failover.ko", "kernel/drivers/net/net_failover.ko", "kernel/fs/squashfs/squashfs.ko"} {
		if _, err := os.Stat(filepath.Join(dst, "lib/modules/6.1.0-test", m)); err != nil {
			t.Errorf("dependency not copied: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dst, "lib/modules/6.1.0-test/kernel/drivers/gpu/drm.ko")); err == nil {
		t.Error("an unwanted module was copied")
	}
	dep, _ := os.ReadFile(filepath.Join(dst, "lib/modules/6.1.0-test/modules.dep"))
	if strings.Contains(string(dep), "drm") || !strings.Contains(string(dep), "virtio_net.ko: kernel/drivers/net/net_failover.ko") {
		t.Errorf("modules.dep =\n%s", dep)
	}
}

// TestScriptsParse checks the embedded shell scripts with sh -n.
func TestScriptsParse(t *testing.T) {
	for _, p := range []string{"files/initramfs/init", "files/initramfs/udhcpc.script", "files/initramfs/sysroot-exec", "files/initramfs/disk.sh", "files/rootfs/usr/lib/vela/report-booted"} {
		if out, err := exec.Command("sh", "-n", p).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", p, err, out)
		}
	}
}

// TestSysrootExecRewritesRoot runs sysroot-exec against a fake root whose
// "useradd" prints its arguments; chroot is replaced by a stub on PATH that
// drops the root argument, so this runs unprivileged.
func TestSysrootExecRewritesRoot(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "sysroot")
	os.MkdirAll(filepath.Join(root, "usr/sbin"), 0o755)
	os.WriteFile(filepath.Join(root, "usr/sbin/useradd"), []byte("#!/bin/sh\n"), 0o755)
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	os.WriteFile(filepath.Join(bin, "chroot"), []byte("#!/bin/sh\necho \"chroot=$1 cmd=$2\"; shift 2; for a do echo \"arg=$a\"; done\n"), 0o755)
	script, _ := files.ReadFile("files/initramfs/sysroot-exec")
	os.WriteFile(filepath.Join(dir, "sysroot-exec"), script, 0o755)
	os.Symlink("sysroot-exec", filepath.Join(dir, "useradd"))
	cmd := exec.Command(filepath.Join(dir, "useradd"), "--root", root, "--comment", "two words", "core")
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := "chroot=" + root + " cmd=/usr/sbin/useradd\narg=--root\narg=/\narg=--comment\narg=two words\narg=core\n"
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("sysroot-exec (-want +got):\n%s", diff)
	}
}

// TestDiskHelpers runs the pure functions of the initramfs's disk.sh.
func TestDiskHelpers(t *testing.T) {
	for _, tt := range []struct{ call, want string }{
		{"part_dev /dev/sda 1", "/dev/sda1"},
		{"part_dev /dev/vda 2", "/dev/vda2"},
		{"part_dev /dev/nvme0n1 2", "/dev/nvme0n1p2"},
		{"part_dev /dev/mmcblk0 1", "/dev/mmcblk0p1"},
		{`disk_cmdline "BOOT_IMAGE=x initrd=initramfs console=ttyS0,115200n8 net.ifnames=0 vela.rootfs=http://s/r vela.rootfs_sha256=ab ignition.config.url=http://s/i?token=t vela.report=http://s/report/m?token=t vela.install_dev=/dev/sda ignition.firstboot quiet"`,
			"console=ttyS0,115200n8 net.ifnames=0 vela.report=http://s/report/m?token=t quiet vela.root_dev=LABEL=VELA-OS"},
		{`disk_cmdline "vela.root_dev=LABEL=VELA-OS console=tty0"`, "console=tty0 vela.root_dev=LABEL=VELA-OS"},
		{"mbr_table", "label: dos\nlabel-id: 0x56454c41\nunit: sectors\n\nstart=2048, size=2097152, type=83, bootable\nstart=2099200, type=83"},
		{"gpt_table 56454c41-0000-4000-8000-000000000001", "label: gpt\nlabel-id: 56454c41-0000-4000-8000-000000000001\nunit: sectors\n\n" +
			`start=2048, size=524288, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="VELA-EFI"` + "\n" +
			`start=526336, size=2097152, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="VELA-OS"` + "\n" +
			`start=2623488, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="VELA-STATE"`},
		{"vela_guid | cut -c1-9", "56454c41-"},
		{"vela_guid | wc -c", "37"},
	} {
		out, err := exec.Command("sh", "-c", ". files/initramfs/disk.sh; "+tt.call).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", tt.call, err, out)
			continue
		}
		if got := strings.TrimSpace(string(out)); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.call, got, tt.want)
		}
	}
}
