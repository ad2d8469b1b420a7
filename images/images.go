package images

// Image names, as in the install config's os.image and the boot server's
// /images/{image}/ URLs, plus the node image.
const (
	VelaOS = "vela-os"
	FCOS   = "fcos"
	Node   = "node"
)

// VelaOSKernelArgs are the kernel arguments vela-os needs besides the
// contract's vela.rootfs=, vela.rootfs_sha256=, ignition.config.url= and
// vela.report=: net.ifnames=0 keeps the NIC name the initramfs configured;
// apparmor=0 because the image carries no AppArmor profiles (dockerd needs
// one when AppArmor is on). The boot server puts them in every vela-os iPXE
// script, before the operator's os.kernel_args.
const VelaOSKernelArgs = "console=tty0 console=ttyS0,115200n8 net.ifnames=0 apparmor=0"

// Boot artifact names, as in /images/{image}/{artifact}.
const (
	Kernel    = "kernel"
	Initramfs = "initramfs"
	Rootfs    = "rootfs"
)

// Default locations.
const (
	DefaultStoreDir = "/var/lib/vela/images"
	DefaultCacheDir = "/var/cache/vela/images"
	// EnvStoreDir and EnvCacheDir override the defaults (flags win over both).
	EnvStoreDir = "VELA_IMAGES_DIR"
	EnvCacheDir = "VELA_IMAGES_CACHE"
)

// Progress reports long work: Done of Total units (bytes when Unit is
// "bytes"; Total is 0 when unknown). The installer turns these into Events.
type Progress struct {
	Image string // vela-os, node, fcos
	Step  string // debootstrap, packages, squashfs, initramfs, download, verify...
	Done  int64
	Total int64
	Unit  string // "bytes", "%" or "steps"
}

// Percent is Done/Total in percent, or -1 when Total is unknown.
func (p Progress) Percent() float64 {
	if p.Total <= 0 {
		return -1
	}
	return 100 * float64(p.Done) / float64(p.Total)
}

// ProgressFunc receives progress reports; it must not block for long.
// A nil ProgressFunc is allowed everywhere and drops the reports.
type ProgressFunc func(Progress)

// Report calls f with p when f is not nil.
func (f ProgressFunc) Report(p Progress) {
	if f != nil {
		f(p)
	}
}
