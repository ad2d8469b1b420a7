package nodeimage

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/idmap"
	"github.com/vela-appliance/vela/images/internal/debroot"
	"github.com/vela-appliance/vela/images/store"
)

// Packed is the file name of the node image packed for hypervisors: the
// tree as one squashfs with its ownership already shifted for unprivileged
// nodes (idmap.Base, marked by idmap.MarkerFile), served by the boot server
// at /images/node/rootfs, fetched by Ignition and mounted read-only at the
// agent's --image, which then uses it as every node's lower layer as it is
// (no per-hypervisor copy).
const Packed = "rootfs-idmap100000.squashfs"

// Pack returns the current node image as a squashfs and its hex sha512,
// making it once per version (beside the tree, with a .sha512 file). It is
// derived from the tree, so it is not a store artifact of its own.
func Pack(ctx context.Context, st *store.Store, log *slog.Logger) (path, sha string, err error) {
	version, err := st.Current(images.Node)
	if err != nil {
		return "", "", fmt.Errorf("node image: %w; build it with `vela images build node`", err)
	}
	dir := st.VersionDir(images.Node, version)
	path = filepath.Join(dir, Packed)
	if b, err := os.ReadFile(path + ".sha512"); err == nil {
		if _, err := os.Stat(path); err == nil {
			return path, strings.TrimSpace(string(b)), nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", "", err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tmp := path + ".tmp"
	defer os.Remove(tmp)
	tree := path + ".tree"
	_ = os.RemoveAll(tree)
	defer os.RemoveAll(tree)
	if err := debroot.Run(ctx, debroot.Cmd{Log: log, What: "copy node image"}, "cp", "-a", filepath.Join(dir, Artifact), tree); err != nil {
		return "", "", fmt.Errorf("packing node image %s: %w", version, err)
	}
	if err := idmap.Shift(tree, idmap.Base); err != nil {
		return "", "", fmt.Errorf("packing node image %s: %w", version, err)
	}
	c := debroot.Cmd{Log: log, What: "mksquashfs"}
	if err := debroot.Run(ctx, c, "mksquashfs", tree, tmp, "-noappend", "-comp", "zstd",
		"-Xcompression-level", "3", "-b", "1M", "-xattrs", "-no-progress"); err != nil {
		return "", "", fmt.Errorf("packing node image %s (apt-get install squashfs-tools): %w", version, err)
	}
	f, err := os.Open(tmp)
	if err != nil {
		return "", "", err
	}
	h := sha512.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return "", "", err
	}
	sha = hex.EncodeToString(h.Sum(nil))
	if err := os.Rename(tmp, path); err != nil {
		return "", "", err
	}
	return path, sha, os.WriteFile(path+".sha512", []byte(sha+"\n"), 0o644)
}
