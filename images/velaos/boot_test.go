package velaos

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/bootlab"
	"github.com/vela-appliance/vela/images/store"
)

// need skips (or, with CI set, fails) when the test cannot run here.
func need(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, tool := range []string{"debootstrap", "mksquashfs", "unshare", "chroot", "qemu-system-x86_64", "busybox", "go", "gcc", "ldd"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("vela-os build and boot need %v (apt-get install debootstrap squashfs-tools qemu-system-x86 busybox-static libblkid-dev gcc; run as root)", missing)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// buildForTest builds vela-os into the machine's store and cache (or the
// ones named by VELA_IMAGES_DIR and VELA_IMAGES_CACHE), so a second run on
// the same machine finds it by recipe and does nothing.
func buildForTest(t *testing.T) (*store.Store, Result) {
	t.Helper()
	need(t)
	st, err := store.New(store.Config{Dir: envOr(images.EnvStoreDir, images.DefaultStoreDir)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	res, err := New(Config{Store: st, CacheDir: envOr(images.EnvCacheDir, images.DefaultCacheDir), Recipe: DefaultRecipe(), Logger: log}).Build(ctx)
	if err != nil {
		t.Fatalf("build vela-os: %v", err)
	}
	t.Logf("vela-os %s: cached=%v in %s", res.Manifest.Version, res.Cached, res.Took.Round(time.Millisecond))
	for _, a := range res.Manifest.Artifacts {
		t.Logf("  %-9s %6.1f MiB", a.Name, float64(a.Size)/(1<<20))
	}
	return st, res
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmXxc6YJSR7vT8Yt0S7Wm9k2S0fDq0XJYIcXQmvP3vU vela-test"

// testIgnition is an Ignition config with a file, an enabled unit and a
// user with an SSH key; the unit posts what it sees to /evidence.
func testIgnition() []byte {
	unit := `[Unit]
Description=vela-os boot test
After=network-online.target
Wants=network-online.target
[Service]
Type=oneshot
ExecStart=/bin/sh -c '{ cat /etc/vela-test/hello; echo; getent passwd core; cat /home/core/.ssh/authorized_keys; systemctl is-enabled vela-test.service; } | curl -sS --retry 5 --retry-connrefused --data-binary @- http://` + bootlab.GuestAddr + `/evidence'
[Install]
WantedBy=multi-user.target
`
	cfg := map[string]any{
		"ignition": map[string]any{"version": "3.4.0"},
		"passwd":   map[string]any{"users": []any{map[string]any{"name": "core", "sshAuthorizedKeys": []string{testKey}}}},
		"storage": map[string]any{"files": []any{map[string]any{
			"path": "/etc/vela-test/hello", "mode": 0o644, "contents": map[string]any{"source": "data:,hello%20from%20ignition"}}}},
		"systemd": map[string]any{"units": []any{map[string]any{"name": "vela-test.service", "enabled": true, "contents": unit}}},
	}
	b, _ := json.Marshal(cfg)
	return b
}

func bootArgs(m store.Manifest, rootfsSHA string) string {
	base := "http://" + bootlab.GuestAddr
	return fmt.Sprintf("%s vela.rootfs=%s/images/vela-os/rootfs vela.rootfs_sha256=%s ignition.config.url=%s/ignition/52:54:00:76:6c:01?token=t vela.report=%s/report/52:54:00:76:6c:01?token=t",
		m.Meta["kernel_args"], base, rootfsSHA, base, base)
}

func startLab(t *testing.T, st *store.Store, m store.Manifest, rootfsSHA string) (*bootlab.Server, *bootlab.VM) {
	t.Helper()
	dir := st.VersionDir(images.VelaOS, m.Version)
	srv, err := bootlab.NewServer(map[string]string{"/images/vela-os/rootfs": filepath.Join(dir, images.Rootfs)}, testIgnition())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	// VELA_TEST_CONSOLE names a file to keep the serial console in.
	consolePath := envOr("VELA_TEST_CONSOLE", filepath.Join(t.TempDir(), "console.log"))
	console, err := os.Create(consolePath)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bootlab.Start(bootlab.VMConfig{Kernel: filepath.Join(dir, images.Kernel), Initrd: filepath.Join(dir, images.Initramfs),
		Append: bootArgs(m, rootfsSHA), ServerPort: srv.Port, Console: console})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vm.Stop)
	return srv, vm
}

// TestBootVelaOS boots the built vela-os under qemu TCG: the real Ignition
// applies the test config and systemd reaches multi-user.target with the
// test unit run.
func TestBootVelaOS(t *testing.T) {
	st, res := buildForTest(t)
	m := res.Manifest
	rootfs, _ := m.Artifact(images.Rootfs)
	srv, vm := startLab(t, st, m, rootfs.SHA256)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\nrequests: %v\nconsole tail:\n%s", append(args, srv.Requests(), vm.Tail(60))...)
	}
	var evidence string
	var booted bootlab.Report
	var bootedAt time.Duration
	for evidence == "" || booted.State == "" {
		select {
		case e := <-srv.Evidence:
			evidence = e
		case r := <-srv.Reports:
			if r.State != "booted" {
				fail("machine reported %q: %s", r.State, r.Detail)
			}
			booted, bootedAt = r, time.Since(vm.Started)
		case <-ctx.Done():
			fail("no evidence/booted report within the deadline (evidence %q, booted %+v)", evidence, booted)
		}
	}
	for _, want := range []string{"hello from ignition", "core:x:", testKey, "enabled"} {
		if !strings.Contains(evidence, want) {
			fail("evidence from the test unit lacks %q:\n%s", want, evidence)
		}
	}
	// vela-report-booted.service runs after multi-user.target and says
	// whether systemd has it active (the console may not show it once the
	// serial getty owns ttyS0).
	if booted.MAC != "52:54:00:76:6c:01" || !strings.Contains(booted.Detail, "multi-user.target active") {
		fail("booted report = %+v", booted)
	}
	var milestones []string
	for _, key := range []string{"Command line:", "initramfs started", "network:", "root image verified", "ignition: fetch stage", "switching root"} {
		if l, err := vm.WaitLine(ctx, key); err == nil {
			milestones = append(milestones, fmt.Sprintf("%q %.1fs", key, l.At.Seconds()))
		}
	}
	t.Logf("vela-os boot under TCG, since qemu start: %s; booted report %.1fs (%s)",
		strings.Join(milestones, ", "), bootedAt.Seconds(), booted.Detail)
}

// TestBootRefusesBadRootfs boots with a wrong vela.rootfs_sha256: the
// initramfs must refuse the image, say so on the console and report failed.
func TestBootRefusesBadRootfs(t *testing.T) {
	st, res := buildForTest(t)
	srv, vm := startLab(t, st, res.Manifest, strings.Repeat("0", 64))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	select {
	case r := <-srv.Reports:
		if r.State != "failed" || !strings.Contains(r.Detail, "does not match vela.rootfs_sha256") {
			t.Errorf("report = %+v, want failed with the hash mismatch", r)
		}
	case <-ctx.Done():
		t.Fatalf("no failed report; console:\n%s", vm.Tail(40))
	}
	if _, err := vm.WaitLine(ctx, "FAILED: root image"); err != nil {
		t.Errorf("console does not show the reason: %v\n%s", err, vm.Tail(40))
	}
}
