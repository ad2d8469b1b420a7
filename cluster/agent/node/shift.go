package node

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// shiftedImage returns a copy of the node image owned by the unprivileged
// nodes' id range (uid/gid + IDMapBase), made once per image and shared
// read-only by every unprivileged node as its overlay lower layer.
//
// The copy lives in the state dir (the node disk store), not beside the
// image: on vela-os the image is a read-only squashfs under a RAM-backed
// overlay root, and an overlay lower layer on that nested overlay made
// libvirt's container start fail (creating /.oldroot: permission denied,
// Debian 6.1 kernel); on the disk store it also costs no RAM. The name
// carries the image's path and its root's modification time, so a new
// image version mounted at the same path gets a new copy.
func (m *Manager) shiftedImage(ctx context.Context) (string, error) {
	m.shiftMu.Lock()
	defer m.shiftMu.Unlock()
	st, err := os.Stat(m.cfg.Image)
	if err != nil {
		return "", fmt.Errorf("node image %s: %w", m.cfg.Image, err)
	}
	key := sha256.Sum256([]byte(fmt.Sprintf("%s@%d", filepath.Clean(m.cfg.Image), st.ModTime().UnixNano())))
	dir := filepath.Join(m.cfg.StateDir, ".images")
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, fmt.Sprintf("%s-%x.shift-%d", filepath.Base(m.cfg.Image), key[:6], IDMapBase))
	done := dst + ".done"
	if _, err := os.Stat(done); err == nil {
		return dst, nil
	}
	m.log.Info("making the unprivileged copy of the node image", "image", m.cfg.Image, "copy", dst)
	tmp := dst + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := run(ctx, "cp", "-a", m.cfg.Image, tmp); err != nil {
		return "", fmt.Errorf("copy node image for unprivileged nodes: %w", err)
	}
	if err := shiftTree(tmp, IDMapBase); err != nil {
		return "", fmt.Errorf("shift node image ownership: %w", err)
	}
	_ = os.RemoveAll(dst)
	if err := os.Rename(tmp, dst); err != nil {
		return "", err
	}
	return dst, os.WriteFile(done, nil, 0o600)
}

// shiftTree adds base to the owner and group of every file under root,
// keeping set-id bits (chown clears them).
func shiftTree(root string, base int) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
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
}
