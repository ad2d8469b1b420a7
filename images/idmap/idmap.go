// Package idmap shifts the ownership of a root filesystem tree for
// unprivileged LXC nodes (user-namespace <idmap>: uid 0 inside is Base
// outside). The node image is packed already shifted, so hypervisors
// mount it as it is; the agent shifts a copy only of an unshifted image.
// It does not know about libvirt, nodes or the store.
package idmap

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Base is the first host ID of an unprivileged node's user namespace.
const Base = 100000

// MarkerFile, at the root of a shifted tree, holds the base it was shifted by.
const MarkerFile = ".vela-idmap-base"

// Shift adds base to the owner and group of every file under root that is
// below base, keeping set-id bits (chown clears them), and writes the marker.
func Shift(root string, base int) error {
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) >= base {
			return nil
		}
		if err := os.Lchown(p, int(st.Uid)+base, int(st.Gid)+base); err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return nil
		}
		return os.Chmod(p, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
	})
	if err != nil {
		return fmt.Errorf("shift the ownership of %s by %d: %w", root, base, err)
	}
	m := filepath.Join(root, MarkerFile)
	if err := os.WriteFile(m, []byte(strconv.Itoa(base)+"\n"), 0o644); err != nil {
		return err
	}
	return os.Lchown(m, base, base)
}

// ShiftedBy returns the base a tree was shifted by (0: not shifted).
func ShiftedBy(root string) int {
	b, err := os.ReadFile(filepath.Join(root, MarkerFile))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}
