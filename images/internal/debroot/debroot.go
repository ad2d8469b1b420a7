package debroot

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vela-appliance/vela/images"
)

// Default Debian sources.
const (
	DefaultSuite          = "bookworm"
	DefaultMirror         = "http://deb.debian.org/debian"
	DefaultSecurityMirror = "http://deb.debian.org/debian-security"
)

// Config says what root to make.
type Config struct {
	Image          string // for progress reports
	Suite          string
	Mirror         string
	SecurityMirror string // "" skips SUITE-security
	Packages       []string
	CacheDir       string // .deb cache, shared between builds
	Logger         *slog.Logger
	Progress       images.ProgressFunc
}

// Sources is the sources.list written into the root.
func (c Config) Sources() string {
	s := fmt.Sprintf("deb %s %s main\ndeb %s %s-updates main\n", c.Mirror, c.Suite, c.Mirror, c.Suite)
	if c.SecurityMirror != "" {
		s += fmt.Sprintf("deb %s %s-security main\n", c.SecurityMirror, c.Suite)
	}
	return s
}

// Build makes the root at dir (which must not exist yet or be empty). On
// error dir is left for the caller to remove.
func Build(ctx context.Context, cfg Config, dir string) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for _, tool := range []string{"debootstrap", "unshare", "chroot"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("build %s: %s not found; install it (apt-get install debootstrap util-linux coreutils)", cfg.Image, tool)
		}
	}
	debs := filepath.Join(cfg.CacheDir, "debs", cfg.Suite)
	if err := os.MkdirAll(filepath.Join(debs, "partial"), 0o755); err != nil {
		return fmt.Errorf("deb cache %s: %w", debs, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	step := func(name string, n, total int64) {
		cfg.Progress.Report(images.Progress{Image: cfg.Image, Step: name, Done: n, Total: total, Unit: "%"})
	}
	step("debootstrap", 0, 100)
	var lines int64
	err = Run(ctx, Cmd{Log: cfg.Logger, What: "debootstrap", OnLine: func(line string) {
		if strings.HasPrefix(line, "I: ") {
			lines++
			// debootstrap prints roughly 300 I: lines for minbase.
			step("debootstrap", min(lines*100/300, 99), 100)
		}
	}}, "unshare", "--mount", "--propagation", "private", "--",
		"debootstrap", "--variant=minbase", "--cache-dir="+debs, cfg.Suite, abs, cfg.Mirror)
	if err != nil {
		if b, rerr := os.ReadFile(filepath.Join(abs, "debootstrap/debootstrap.log")); rerr == nil {
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			err = fmt.Errorf("%w\n  debootstrap.log: %s", err, strings.Join(lines[max(0, len(lines)-5):], "\n  debootstrap.log: "))
		}
		return fmt.Errorf("build %s: debootstrap %s from %s: %w", cfg.Image, cfg.Suite, cfg.Mirror, err)
	}
	step("debootstrap", 100, 100)
	if err := prepare(abs, cfg); err != nil {
		return fmt.Errorf("build %s: %w", cfg.Image, err)
	}
	script := `set -e
mount -t proc proc "$R/proc"
mount -t sysfs sys "$R/sys"
mount --bind "$DEBS" "$R/var/cache/apt/archives"
chroot "$R" apt-get -q update
chroot "$R" apt-get -q -y -o APT::Status-Fd=3 -o Dpkg::Use-Pty=0 --no-install-recommends install "$@"
chroot "$R" apt-get -q -y -o APT::Status-Fd=3 -o Dpkg::Use-Pty=0 dist-upgrade
`
	args := append([]string{"--mount", "--propagation", "private", "--", "sh", "-c", script, "sh"}, cfg.Packages...)
	step("packages", 0, 100)
	err = Run(ctx, Cmd{Log: cfg.Logger, What: "apt-get", OnPercent: func(pct int64) { step("packages", pct, 100) },
		Env: []string{"R=" + abs, "DEBS=" + debs, "DEBIAN_FRONTEND=noninteractive", "INITRD=No", "LC_ALL=C"}},
		"unshare", args...)
	if err != nil {
		return fmt.Errorf("build %s: install packages %s: %w", cfg.Image, strings.Join(cfg.Packages, " "), err)
	}
	step("packages", 100, 100)
	return finish(abs)
}

// prepare writes what must be there before packages install.
func prepare(root string, cfg Config) error {
	files := map[string]string{
		"usr/sbin/policy-rc.d":      "#!/bin/sh\n# vela image build: never start services while building\nexit 101\n",
		"etc/apt/sources.list":      cfg.Sources(),
		"etc/dpkg/dpkg.cfg.d/vela":  "path-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\npath-exclude=/usr/share/man/*\npath-exclude=/usr/share/info/*\npath-exclude=/usr/share/locale/*\npath-include=/usr/share/locale/locale.alias\n",
		"etc/apt/apt.conf.d/99vela": "APT::Install-Recommends \"false\";\nAPT::Install-Suggests \"false\";\n",
	}
	for p, s := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(s), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// finish removes build-only state from the root.
func finish(root string) error {
	for _, p := range []string{"usr/sbin/policy-rc.d", "var/lib/apt/lists", "var/cache/apt/archives",
		"var/cache/apt/pkgcache.bin", "var/cache/apt/srcpkgcache.bin", "var/log/apt", "var/log/dpkg.log",
		"var/log/bootstrap.log", "etc/hostname", "etc/resolv.conf"} {
		if err := os.RemoveAll(filepath.Join(root, p)); err != nil {
			return err
		}
	}
	for _, d := range []string{"var/lib/apt/lists/partial", "var/cache/apt/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	// Every machine gets its own machine-id at first boot.
	return os.WriteFile(filepath.Join(root, "etc/machine-id"), nil, 0o444)
}
