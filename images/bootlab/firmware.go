package bootlab

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Firmware is what a VM boots through.
type Firmware string

// The firmwares a VM can have.
const (
	BIOS Firmware = "bios" // SeaBIOS, qemu's default (legacy boot, MBR)
	UEFI Firmware = "uefi" // OVMF from Debian's ovmf package
)

// OVMF's files (Debian's ovmf package): the firmware code, mapped read-only,
// and the template of the variable store (NVRAM) each VM gets a copy of.
const (
	OVMFCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	OVMFVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
)

// HaveOVMF says whether OVMF is installed, and if not what to do.
func HaveOVMF() error {
	for _, f := range []string{OVMFCode, OVMFVars} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("UEFI firmware %s: %w (apt-get install ovmf)", f, err)
		}
	}
	return nil
}

// firmware returns the qemu arguments for cfg's firmware and a cleanup to
// run after qemu exits. Under UEFI the VM's variable store is cfg.UEFIVars,
// copied from OVMF's template when it does not exist yet; with UEFIVars
// empty it is a fresh copy that cleanup removes.
func firmware(cfg VMConfig) ([]string, func(), error) {
	switch cfg.Firmware {
	case "", BIOS:
		return nil, func() {}, nil
	case UEFI:
	default:
		return nil, nil, fmt.Errorf("bootlab: firmware %q: want %q or %q", cfg.Firmware, BIOS, UEFI)
	}
	if err := HaveOVMF(); err != nil {
		return nil, nil, err
	}
	vars, cleanup := cfg.UEFIVars, func() {}
	if vars == "" {
		dir, err := os.MkdirTemp("", "bootlab-ovmf-")
		if err != nil {
			return nil, nil, fmt.Errorf("bootlab: UEFI variable store: %w", err)
		}
		vars, cleanup = filepath.Join(dir, "OVMF_VARS.fd"), func() { os.RemoveAll(dir) }
	}
	if _, err := os.Stat(vars); os.IsNotExist(err) {
		if err := copyFile(OVMFVars, vars); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("bootlab: UEFI variable store %s: %w", vars, err)
		}
	}
	return []string{
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMFCode,
		"-drive", "if=pflash,format=raw,unit=1,file=" + vars,
	}, cleanup, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}
