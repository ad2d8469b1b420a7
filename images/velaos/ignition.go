package velaos

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vela-appliance/vela/images/internal/debroot"
)

// ignitionBinary returns the path of an Ignition binary built from
// IgnitionModule@IgnitionVersion with the recipe's link flags, building it
// with the Go toolchain (cgo, libblkid) into the cache the first time.
func (b *Builder) ignitionBinary(ctx context.Context, r Recipe) (string, error) {
	if b.cfg.IgnitionBinary != "" {
		return b.cfg.IgnitionBinary, nil
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building Ignition needs the Go toolchain (go not in PATH); install Go, or pass --ignition FILE with a binary built by: go build %s/internal", IgnitionModule)
	}
	goVersion, err := exec.CommandContext(ctx, gobin, "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	ldflags := "-s -w"
	for _, f := range r.IgnitionLDFlags {
		ldflags += " -X " + f
	}
	key := sha256.Sum256([]byte(IgnitionModule + "@" + IgnitionVersion + "\n" + ldflags + "\n" + strings.TrimSpace(string(goVersion))))
	dir := filepath.Join(b.cfg.CacheDir, "ignition", hex.EncodeToString(key[:8]))
	bin := filepath.Join(dir, "ignition")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	src := filepath.Join(b.cfg.CacheDir, "ignition", "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	gomod := "module vela.local/ignition-build\n\ngo 1.22\n"
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(gomod), 0o644); err != nil {
		return "", err
	}
	_ = os.Remove(filepath.Join(src, "go.sum"))
	env := []string{"CGO_ENABLED=1", "GOFLAGS=-mod=mod"}
	b.progress("ignition", 0, 2)
	c := debroot.Cmd{Log: b.log, What: "go get " + IgnitionModule, Env: env, Dir: src}
	if err := debroot.Run(ctx, c, gobin, "get", IgnitionModule+"/internal@"+IgnitionVersion); err != nil {
		return "", fmt.Errorf("fetch Ignition source (needs the Go module proxy or a filled module cache): %w", err)
	}
	b.progress("ignition", 1, 2)
	tmp := bin + ".tmp"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	c.What = "go build Ignition"
	if err := debroot.Run(ctx, c, gobin, "build", "-trimpath", "-ldflags", ldflags, "-o", tmp, IgnitionModule+"/internal"); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("build Ignition (cgo needs gcc and libblkid-dev: apt-get install gcc libblkid-dev): %w", err)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	b.progress("ignition", 2, 2)
	return bin, nil
}
