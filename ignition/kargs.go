package ignition

import "github.com/vela-appliance/vela/installer/config"

// InstallArgs are the kernel arguments that make a machine with a disk
// install itself on it, for the boot server's iPXE script: coreos-installer's
// for fcos (it writes the config fetched from ignitionURL to the disk), and
// vela.install_dev for vela-os (its initramfs installs the root). None for a
// diskless machine or another image. ignitionURL is the machine's own config
// URL, with its boot token.
func InstallArgs(image string, m config.Machine, ignitionURL string) []string {
	if m.Disk == "" {
		return nil
	}
	switch image {
	case config.ImageFCOS:
		return []string{"coreos.inst.install_dev=" + m.Disk, "coreos.inst.ignition_url=" + ignitionURL}
	case config.ImageVelaOS:
		return []string{"vela.install_dev=" + m.Disk}
	}
	return nil
}
