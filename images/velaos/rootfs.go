package velaos

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/internal/debroot"
)

// Units enabled in the image (besides what packages enable themselves).
var enableUnits = []string{"systemd-networkd.service", "vela-report-booted.service", "vela-ssh-keygen.service"}

// Units masked: nothing downloads updates on a live appliance node.
var maskUnits = []string{"apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "e2scrub_reap.service"}

// customizeRoot writes the embedded rootfs files and sets up units.
func customizeRoot(ctx context.Context, root string, log *slog.Logger) error {
	err := fs.WalkDir(files, "files/rootfs", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := strings.TrimPrefix(p, "files/rootfs/")
		dst := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if strings.HasPrefix(rel, "usr/lib/vela/") {
			mode = 0o755
		}
		b, _ := files.ReadFile(p)
		_ = os.Remove(dst)
		return os.WriteFile(dst, b, mode)
	})
	if err != nil {
		return fmt.Errorf("write vela-os files: %w", err)
	}
	c := debroot.Cmd{Log: log, What: "systemctl enable in the vela-os root"}
	if err := debroot.Run(ctx, c, "chroot", append([]string{root, "systemctl", "enable"}, enableUnits...)...); err != nil {
		return err
	}
	c.What = "systemctl mask in the vela-os root"
	if err := debroot.Run(ctx, c, "chroot", append([]string{root, "systemctl", "mask"}, maskUnits...)...); err != nil {
		return err
	}
	// The kernel is served as its own artifact; no initrd is needed inside.
	// SSH host keys are per machine (vela-ssh-keygen.service makes them).
	olds, _ := filepath.Glob(filepath.Join(root, "boot", "initrd.img*"))
	keys, _ := filepath.Glob(filepath.Join(root, "etc/ssh/ssh_host_*"))
	olds = append(olds, keys...)
	for _, o := range olds {
		if err := os.Remove(o); err != nil {
			return err
		}
	}
	// Room for vela itself: Ignition writes it to /usr/local/bin/vela on
	// the tmpfs overlay (it is fetched from the boot server, not baked in).
	return os.MkdirAll(filepath.Join(root, "usr/local/bin"), 0o755)
}

var pctRE = regexp.MustCompile(`\s(\d{1,3})%\s*$`)

// squashfs packs root into out with zstd at level, reporting percent done.
func squashfs(ctx context.Context, root, out string, level int, log *slog.Logger, p images.ProgressFunc) error {
	report := func(pct int64) {
		p.Report(images.Progress{Image: images.VelaOS, Step: "squashfs", Done: pct, Total: 100, Unit: "%"})
	}
	report(0)
	c := debroot.Cmd{Log: log, What: "mksquashfs", OnLine: func(l string) {
		// The progress bar: "[====   ] 1234/5678  21%".
		if m := pctRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			report(int64(n))
		}
	}}
	err := debroot.Run(ctx, c, "mksquashfs", root, out, "-noappend", "-comp", "zstd",
		"-Xcompression-level", strconv.Itoa(level), "-b", "1M", "-xattrs", "-progress")
	if err != nil {
		return fmt.Errorf("squashfs of the vela-os root (apt-get install squashfs-tools): %w", err)
	}
	report(100)
	return nil
}
