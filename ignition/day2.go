package ignition

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"

	"github.com/vela-appliance/vela/installer/config"
)

// Day-2 boot on members: where the boot images live on a member and how
// its vela server is told to serve them.
const (
	// BootImagesDir is the image store a member serves day-2 boot from
	// (vela server --boot-images); each image is laid out as the store
	// does, IMAGE/current/{kernel,initramfs,rootfs}; the node image is
	// NodeImageFile beside them.
	BootImagesDir = "/var/lib/vela/images"
	// BootInterfaceAuto lets vela server pick the interface whose IPv4
	// address is in the install config's boot network.
	BootInterfaceAuto = "auto"
	// IPXEDir is where a member keeps the iPXE binaries it serves over
	// TFTP (vela server --boot-tftp-root), fetched from the seed.
	IPXEDir = "/var/lib/vela/images/ipxe"
	// IPXEURLPath is the boot server path prefix of the iPXE binaries
	// (pxe/httpboot serves them at /ipxe/FILE).
	IPXEURLPath = "/ipxe/"
	// LiveRootfsPath is where the vela-os initramfs keeps the root image it
	// fetched and verified; after switch_root it is still there (/run is
	// moved into the new root), loop-mounted as the read-only lower layer
	// of /. A member serves that very file instead of a second copy.
	LiveRootfsPath = "/run/vela/rootfs.squashfs"
)

// BootImage is what a member fetches from the seed to serve day-2 network
// boot: the hex sha256 of the current OS image's artifacts, as the boot
// server serves them at /images/IMAGE/{kernel,initramfs,rootfs}.
type BootImage struct {
	KernelSHA256    string
	InitramfsSHA256 string
	// RootfsSHA256 is needed for images whose running system does not
	// keep its root image as a file (fcos): the member fetches it too.
	// vela-os members link the root image they booted from instead.
	RootfsSHA256 string
	// IPXE is the hex sha256 of each iPXE binary the seed serves over TFTP
	// (undionly.kpxe, snponly.efi), by file name: the member fetches them
	// and serves them in turn (vela-os has no ipxe package). Empty leaves
	// the member to find Debian's ipxe package.
	IPXE map[string]string
}

var (
	hexSHA256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	ipxeNameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
)

// day2 is the template data of a member's day-2 boot.
type day2 struct {
	On           bool
	Flags        string // appended to vela server's command line
	Dir          string // IMAGE/current on the machine
	Kernel       string // boot server URL of the kernel
	KernelHash   string // sha256-HEX
	Initrd       string
	InitrdHash   string
	Rootfs       string // fcos: URL of the root image to fetch
	RootfsHash   string
	RootfsTarget string // vela-os: the live root image the rootfs link points to
	IPXE         []fetched
}

// fetched is one file Ignition fetches and verifies.
type fetched struct{ Path, URL, Hash string }

// day2Data decides whether a machine serves day-2 boot and with what:
// members only, pxe.day2 on (the default), an image the members can serve
// themselves (vela-os, fcos; not custom), and the image hashes given.
// Without in.BootImage the flags are left out, as for a node image: the
// caller has no boot images to hand over.
func day2Data(in Input, m config.Machine, boot string) (day2, error) {
	c := in.Config
	img := c.OS.Image
	if !m.IsMember() || !c.Day2Boot() || in.BootImage == nil || img == config.ImageCustom {
		return day2{}, nil
	}
	b := in.BootImage
	check := map[string]string{"kernel": b.KernelSHA256, "initramfs": b.InitramfsSHA256}
	if img == config.ImageFCOS {
		check["rootfs"] = b.RootfsSHA256
	}
	for what, sum := range check {
		if !hexSHA256RE.MatchString(sum) {
			return day2{}, fmt.Errorf("machine %q: the %s %s hash %q is not a hex sha256; pass the sha256 from the image store manifest (vela images list)", m.Name, img, what, sum)
		}
	}
	url := boot + "/images/" + img + "/"
	d := day2{On: true, Dir: path.Join(BootImagesDir, img, "current"),
		Flags:  " --boot-interface " + BootInterfaceAuto + " --boot-images " + BootImagesDir,
		Kernel: url + "kernel", KernelHash: "sha256-" + b.KernelSHA256,
		Initrd: url + "initramfs", InitrdHash: "sha256-" + b.InitramfsSHA256}
	if img == config.ImageFCOS {
		d.Rootfs, d.RootfsHash = url+"rootfs", "sha256-"+b.RootfsSHA256
	} else {
		d.RootfsTarget = LiveRootfsPath
	}
	for _, name := range slices.Sorted(maps.Keys(b.IPXE)) {
		if !ipxeNameRE.MatchString(name) || !hexSHA256RE.MatchString(b.IPXE[name]) {
			return day2{}, fmt.Errorf("machine %q: iPXE binary %q with hash %q: want a file name and a hex sha256", m.Name, name, b.IPXE[name])
		}
		d.IPXE = append(d.IPXE, fetched{Path: path.Join(IPXEDir, name), URL: boot + IPXEURLPath + name, Hash: "sha256-" + b.IPXE[name]})
	}
	if len(d.IPXE) > 0 {
		d.Flags += " --boot-tftp-root " + IPXEDir
	}
	return d, nil
}
