package swarmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BusyboxImage is the name tests give the image they import from
// BusyboxTarball (`docker import TARBALL vela-test/busybox`).
const BusyboxImage = "vela-test/busybox"

// busyboxApplets are the commands the image offers besides busybox itself.
var busyboxApplets = []string{"sh", "cat", "echo", "sleep", "nslookup", "wget", "httpd", "ls", "mkdir"}

// BusyboxTarball returns a root filesystem tarball holding only the host's
// static busybox and a few applet links, for `docker import`: no registry
// is reachable from test hosts. The file lives in t's temporary directory.
// It skips t when busybox is missing and CI is unset, and fails it in CI.
func BusyboxTarball(t testing.TB) string {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI needs busybox (apt-get install busybox-static; make deps installs it)")
		}
		t.Skip("needs busybox (apt-get install busybox-static)")
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatalf("read %s: %v", bb, err)
	}
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range busyboxApplets {
		if err := os.Symlink("busybox", filepath.Join(bin, l)); err != nil {
			t.Fatal(err)
		}
	}
	tarball := filepath.Join(t.TempDir(), "busybox.tar")
	if out, err := exec.Command("tar", "-C", root, "-cf", tarball, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar the busybox image: %v: %s", err, out)
	}
	return tarball
}
