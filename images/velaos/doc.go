// Package velaos builds vela-os, Vela's own small OS, from Debian packages as
// the three PXE artifacts: kernel (Debian's), initramfs (busybox, the NIC,
// squashfs, loop and overlay modules, and the real Ignition built from
// github.com/coreos/ignition/v2) and rootfs (a zstd squashfs with systemd,
// docker.io, libvirtd with the LXC driver, openssh-server and chrony, plus a
// copy of the initramfs and the tools the initramfs uses to install vela-os
// to a disk and boot it from there: files/initramfs/disk.sh). A build
// is keyed by the hash of its recipe: when the store already holds that
// recipe's artifacts the build does nothing. It writes into the store only
// through a staging directory, so a failed build leaves nothing behind. It
// does not serve the artifacts (pxe does) nor render Ignition configs.
package velaos
