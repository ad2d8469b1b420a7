package node

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vela-appliance/vela/images/idmap"
)

// shiftedImage returns the node image owned by the unprivileged nodes' id
// range (uid/gid + IDMapBase), shared read-only by every unprivileged node
// as its overlay lower layer: the image itself when it was packed shifted
// (what hypervisors get from the boot server), else a copy made once.
//
// The copy lives in the state dir (the node disk store), not beside the
// image: on vela-os the image is a read-only squashfs under a RAM-backed
// overlay root, and an overlay lower layer on that nested overlay made
// libvirt's container start fail (creating /.oldroot: permission denied,
// Debian 6.1 kernel); on the disk store it also costs no RAM. The name
// carries the image's path and its root's modification time, so a new
// image version mounted at the same path gets a new copy.
func (m *Manager) shiftedImage(ctx context.Context) (string, error) {
	if idmap.ShiftedBy(m.cfg.Image) == IDMapBase {
		return m.cfg.Image, nil // packed already shifted (images/nodeimage.Pack)
	}
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
	if err := idmap.Shift(tmp, IDMapBase); err != nil {
		return "", fmt.Errorf("shift node image ownership: %w", err)
	}
	_ = os.RemoveAll(dst)
	if err := os.Rename(tmp, dst); err != nil {
		return "", err
	}
	return dst, os.WriteFile(done, nil, 0o600)
}
