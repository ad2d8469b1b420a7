package hvtest

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// NodeImageRecipe is how the test node image is made; its hash names the
// cache entry, so changing it rebuilds.
var NodeImageRecipe = []string{"debootstrap", "--variant=minbase",
	"--include=docker.io,iptables,iproute2,ca-certificates,procps,util-linux",
	"bookworm"}

// NodeImage returns a node root filesystem for tests (see BuildNodeImage).
// It skips t when debootstrap is missing and CI is unset.
func NodeImage(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("debootstrap"); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("needs debootstrap (apt-get install debootstrap)")
		}
		t.Fatal("CI is set but debootstrap is missing")
	}
	root, err := BuildNodeImage(t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// BuildNodeImage returns a node root filesystem: Debian bookworm minbase
// with docker.io, made by debootstrap once and cached under
// $HOME/.cache/vela/node-image-<recipe hash>/rootfs (about 90 s the first
// time, then instant).
func BuildNodeImage(logf func(string, ...any)) (string, error) {
	home, _ := os.UserHomeDir()
	h := sha256.Sum256([]byte(fmt.Sprint(NodeImageRecipe)))
	dir := filepath.Join(home, ".cache", "vela", fmt.Sprintf("node-image-%x", h[:6]))
	root := filepath.Join(dir, "rootfs")
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return root, nil
	}
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	args := append(append([]string{}, NodeImageRecipe...), root, "http://deb.debian.org/debian")
	logf("building the test node image (debootstrap, ~90 s): %v", args)
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("debootstrap: %v\n%s", err, tail(string(out), 3000))
	}
	return root, os.WriteFile(filepath.Join(dir, "done"), nil, 0o644)
}
