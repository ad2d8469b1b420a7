package serve

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vela-appliance/vela/ignition"
	"github.com/vela-appliance/vela/images/nodeimage"
	"github.com/vela-appliance/vela/images/store"
	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/pxe/httpboot"
	"github.com/vela-appliance/vela/pxe/tftp"
)

// BootImage returns the hashes members need to fetch image's boot files
// from this boot server for day-2 boot (ignition.Input.BootImage), for the
// image store at imagesDir laid out as the boot server reads it
// (IMAGE/current/ARTIFACT or IMAGE/ARTIFACT). The sha256 comes from the
// version's manifest.json when there is one, else from hashing the file
// (a member's own layout has no manifest). The rootfs hash is only needed
// for fcos: a vela-os member links the root image it booted from. It
// returns nil and no error for a custom image, which is not copied. The
// iPXE binaries the boot server hands firmware (httpboot.IPXEFiles) are
// hashed from tftpRoot ("" locates Debian's ipxe package), so that members
// fetch them too.
func BootImage(imagesDir, image, tftpRoot string) (*ignition.BootImage, error) {
	if image == config.ImageCustom {
		return nil, nil
	}
	dir := filepath.Join(imagesDir, image, "current")
	if !fileIsRegular(filepath.Join(dir, "kernel")) {
		dir = filepath.Join(imagesDir, image)
	}
	var man *store.Manifest
	if b, err := os.ReadFile(filepath.Join(dir, store.ManifestFile)); err == nil {
		m, err := store.ParseManifest(b)
		if err != nil {
			return nil, fmt.Errorf("day-2 boot image %s: %s: %w; run vela images verify", image, filepath.Join(dir, store.ManifestFile), err)
		}
		man = &m
	}
	sum := func(artifact string) (string, error) {
		if man != nil {
			if a, ok := man.Artifact(artifact); ok && a.Kind == store.KindFile {
				return a.SHA256, nil
			}
		}
		return hashFile(filepath.Join(dir, artifact))
	}
	var (
		bi  ignition.BootImage
		err error
	)
	if bi.KernelSHA256, err = sum("kernel"); err != nil {
		return nil, fmt.Errorf("day-2 boot image %s: %w; build or import it first (vela images ...)", image, err)
	}
	if bi.InitramfsSHA256, err = sum("initramfs"); err != nil {
		return nil, fmt.Errorf("day-2 boot image %s: %w; build or import it first (vela images ...)", image, err)
	}
	if image == config.ImageFCOS {
		if bi.RootfsSHA256, err = sum("rootfs"); err != nil {
			return nil, fmt.Errorf("day-2 boot image %s: %w; members fetch the fcos rootfs to serve it: import it (vela images import fcos)", image, err)
		}
	}
	if tftpRoot == "" {
		if tftpRoot, err = tftp.LocateIPXE(); err != nil {
			return nil, fmt.Errorf("day-2 boot image: %w", err)
		}
	}
	bi.IPXE = map[string]string{}
	for _, f := range httpboot.IPXEFiles {
		if bi.IPXE[f], err = hashFile(filepath.Join(tftpRoot, f)); err != nil {
			return nil, fmt.Errorf("day-2 boot image: iPXE binary: %w; install Debian's ipxe package or pass the TFTP root", err)
		}
	}
	return &bi, nil
}

// NodeImage is the packed node image in the image store at imagesDir, as
// the boot server serves it at /images/node/rootfs, or "" when there is
// none: the seed's store (node/current/rootfs-idmap100000.squashfs, made by
// the installer) or a member's layout (node.squashfs, fetched by Ignition
// to ignition.NodeImagePath, beside the day-2 boot images).
func NodeImage(imagesDir string) string {
	for _, p := range []string{filepath.Join(imagesDir, "node", "current", nodeimage.Packed), filepath.Join(imagesDir, ignition.NodeImageFile)} {
		if fileIsRegular(p) {
			return p
		}
	}
	return ""
}

// hashFile is the hex sha256 of a file (the store's hash, without progress).
func hashFile(p string) (string, error) {
	sum, _, err := store.HashFile(context.Background(), p, nil)
	return sum, err
}
