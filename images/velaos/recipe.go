package velaos

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"sort"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/internal/debroot"
)

//go:embed files
var files embed.FS

// IgnitionModule is the Ignition the initramfs runs, built from source.
const IgnitionModule = "github.com/coreos/ignition/v2"

// IgnitionVersion must match go.mod's require of IgnitionModule.
const IgnitionVersion = "v2.26.0"

// KernelArgs are the kernel arguments vela-os needs (images.VelaOSKernelArgs);
// the manifest carries them as meta "kernel_args".
const KernelArgs = images.VelaOSKernelArgs

// Recipe is everything a vela-os build depends on. Its Hash (with the
// embedded initramfs and rootfs files and the host busybox) keys the cache.
type Recipe struct {
	Format         int      `json:"format"` // bumped when the build steps change
	Suite          string   `json:"suite"`
	Mirror         string   `json:"mirror"`
	SecurityMirror string   `json:"security_mirror"`
	Packages       []string `json:"packages"`
	// Modules are loaded by the initramfs in this order (with their
	// dependencies); absent ones are skipped.
	Modules []string `json:"modules"`
	// IgnitionLDFlags are -X settings of Ignition's distro package.
	IgnitionLDFlags []string `json:"ignition_ldflags"`
	SquashfsLevel   int      `json:"squashfs_level"` // zstd level
	// Inputs are hashes of files taken from the build host, by name; the
	// builder fills them (busybox, and an Ignition binary given by path).
	Inputs map[string]string `json:"inputs,omitempty"`
}

// DefaultRecipe is vela-os as shipped.
func DefaultRecipe() Recipe {
	return Recipe{
		Format:         2, // 2: the initramfs in the root image, install to disk
		Suite:          debroot.DefaultSuite,
		Mirror:         debroot.DefaultMirror,
		SecurityMirror: debroot.DefaultSecurityMirror,
		Packages: []string{
			"linux-image-amd64", "systemd", "systemd-sysv", "udev", "dbus", "kmod",
			"iproute2", "iptables", "ca-certificates", "curl", "openssh-server", "chrony",
			"docker.io", "libvirt-daemon", "libvirt-daemon-driver-lxc", "libvirt-daemon-system",
			"passwd", "e2fsprogs", "less", "sudo",
			// Install to disk (files/initramfs/disk.sh): sfdisk, extlinux, syslinux's MBR
			// (BIOS); mkfs.fat and systemd-boot for the EFI system partition (UEFI).
			"fdisk", "extlinux", "syslinux-common", "dosfstools", "systemd-boot-efi",
		},
		Modules: []string{
			// virtio first, in the order MACHINE-NOTES measured.
			"virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci",
			"failover", "net_failover", "virtio_net",
			// Common server NICs.
			"e1000", "e1000e", "igb", "ixgbe", "i40e", "ice", "tg3", "bnx2", "bnx2x", "bnxt_en", "r8169", "vmxnet3",
			// The root image.
			"loop", "squashfs", "overlay",
			// An installed disk (ext4 needs crc32c for its checksums).
			"crc32c_intel", "crc32c_generic", "ext4",
			// The EFI system partition of a UEFI install (FAT32; codepage 437,
			// iocharset ascii are the kernel's defaults).
			"vfat", "nls_cp437", "nls_ascii", "nls_utf8", "nls_iso8859_1",
			// UEFI variables (mounted by the initramfs, for systemd and bootctl).
			"efivarfs",
			// Disks Ignition may partition.
			"virtio_blk", "virtio_scsi", "sd_mod", "ahci", "nvme",
		},
		IgnitionLDFlags: []string{
			// Debian has no SELinux policy.
			"github.com/coreos/ignition/v2/internal/distro.selinuxRelabel=false",
			// Debian's sshd reads ~/.ssh/authorized_keys, not authorized_keys.d.
			"github.com/coreos/ignition/v2/internal/distro.writeAuthorizedKeysFragment=false",
			// Ignition runs the root image's own tools inside /sysroot.
			"github.com/coreos/ignition/v2/internal/distro.useraddCmd=/usr/libexec/vela/useradd",
			"github.com/coreos/ignition/v2/internal/distro.usermodCmd=/usr/libexec/vela/usermod",
			"github.com/coreos/ignition/v2/internal/distro.userdelCmd=/usr/libexec/vela/userdel",
			"github.com/coreos/ignition/v2/internal/distro.groupaddCmd=/usr/libexec/vela/groupadd",
			"github.com/coreos/ignition/v2/internal/distro.groupmodCmd=/usr/libexec/vela/groupmod",
			"github.com/coreos/ignition/v2/internal/distro.groupdelCmd=/usr/libexec/vela/groupdel",
			"github.com/coreos/ignition/v2/internal/distro.systemctlCmd=/usr/libexec/vela/systemctl",
		},
		SquashfsLevel: 3,
	}
}

// SysrootTools are the tools Ignition runs through sysroot-exec.
var SysrootTools = []string{"useradd", "usermod", "userdel", "groupadd", "groupmod", "groupdel", "systemctl"}

// Hash is the hex sha256 of the recipe and the embedded files.
func (r Recipe) Hash() string {
	h := sha256.New()
	b, _ := json.Marshal(r) // maps marshal sorted
	h.Write(b)
	var paths []string
	_ = fs.WalkDir(files, "files", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Strings(paths)
	for _, p := range paths {
		c, _ := files.ReadFile(p)
		s := sha256.Sum256(c)
		h.Write([]byte(p + "\x00" + hex.EncodeToString(s[:]) + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Version names a build of the recipe in the store.
func (r Recipe) Version() string { return r.Suite + "-" + r.Hash()[:12] }
