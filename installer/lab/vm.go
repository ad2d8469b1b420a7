package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// VM is one qemu virtual machine standing in for a bare-metal server. Its
// files (pid, serial console log, firmware variables) live in Dir.
type VM struct {
	Name     string
	MAC      string
	UUID     string // SMBIOS UUID, optional
	Memory   int64  // bytes
	CPUs     int
	Accel    string // kvm or tcg (resolved)
	Firmware string // bios or uefi
	Tap      string
	Dir      string
	Qemu     string // qemu-system-x86_64 path
	// DataDisk gives the VM a sparse virtio disk for tenant node disks
	// (its only disk, so the guest sees it as /dev/vda: config.LabDataDisk).
	DataDisk bool
}

// DataDiskSize is the apparent size of a lab VM's node disk: a sparse
// file on the host that grows only as nodes write.
const DataDiskSize = 64 << 30

// DataDiskPath is the VM's node disk file.
func (v VM) DataDiskPath() string { return filepath.Join(v.Dir, "nodes.img") }

// Firmware files from Debian's ovmf package.
const (
	ovmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	ovmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
)

// ConsoleLog is the file the VM's serial console is written to.
func (v VM) ConsoleLog() string { return filepath.Join(v.Dir, "console.log") }

func (v VM) pidFile() string { return filepath.Join(v.Dir, "qemu.pid") }

// tag marks our qemu processes: a process is this VM only if its command
// line carries it, so a recycled PID is never mistaken for (or killed as) it.
func (v VM) tag() string { return "vela-lab:" + v.Name }

// Args returns qemu's command line for the VM.
func (v VM) Args() []string {
	accel := "tcg,tb-size=256" // the default 1 GiB translation cache costs ~0.85 GiB per VM
	cpu := "max"
	if v.Accel == "kvm" {
		accel, cpu = "kvm", "host"
	}
	args := []string{
		"-name", v.tag(), "-machine", "q35,graphics=off", "-accel", accel, "-cpu", cpu,
		"-m", fmt.Sprintf("%dM", v.Memory>>20), "-smp", strconv.Itoa(v.CPUs),
		"-nodefaults", "-no-user-config", "-display", "none",
		"-serial", "file:" + v.ConsoleLog(),
		"-netdev", "tap,id=boot,ifname=" + v.Tap + ",script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=boot,mac=" + v.MAC + ",bootindex=1",
		"-device", "virtio-rng-pci",
		"-pidfile", v.pidFile(), "-daemonize",
	}
	if v.UUID != "" {
		args = append(args, "-smbios", "type=1,uuid="+v.UUID)
	}
	if v.DataDisk {
		args = append(args, "-drive", "if=virtio,format=raw,cache=unsafe,discard=unmap,file="+v.DataDiskPath())
	}
	if v.Firmware == "uefi" {
		args = append(args,
			"-drive", "if=pflash,format=raw,readonly=on,file="+ovmfCode,
			"-drive", "if=pflash,format=raw,file="+filepath.Join(v.Dir, "OVMF_VARS.fd"))
	}
	return args
}

// PID returns the VM's qemu process if it runs.
func (v VM) PID() (int, bool) {
	b, err := os.ReadFile(v.pidFile())
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), "\x00"+v.tag()+"\x00") {
		return 0, false
	}
	return pid, true
}

// Start powers the VM on unless it already runs (idempotent). qemu
// daemonizes: the VM outlives the install process, as a server would.
func (v VM) Start(ctx context.Context) error {
	if _, ok := v.PID(); ok {
		return nil
	}
	if err := os.MkdirAll(v.Dir, 0o700); err != nil {
		return err
	}
	if v.DataDisk {
		if err := sparseFile(v.DataDiskPath(), DataDiskSize); err != nil {
			return fmt.Errorf("lab VM %s: node disk: %w", v.Name, err)
		}
	}
	if v.Firmware == "uefi" {
		vars := filepath.Join(v.Dir, "OVMF_VARS.fd")
		if _, err := os.Stat(vars); err != nil {
			if err := copyFile(ovmfVars, vars); err != nil {
				return fmt.Errorf("lab VM %s: UEFI variables: %w (apt-get install ovmf)", v.Name, err)
			}
		}
	}
	out, err := exec.CommandContext(ctx, v.Qemu, v.Args()...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("lab VM %s did not start: %v: %s", v.Name, err, strings.TrimSpace(string(out)))
	}
	if _, ok := v.PID(); !ok {
		return fmt.Errorf("lab VM %s exited right after starting; see %s", v.Name, v.ConsoleLog())
	}
	return nil
}

// Stop powers the VM off: SIGTERM, then SIGKILL after the grace period.
func (v VM) Stop(ctx context.Context, grace time.Duration) error {
	pid, ok := v.PID()
	if !ok {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for {
		if _, ok := v.PID(); !ok {
			os.Remove(v.pidFile())
			return nil
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			deadline = time.Now().Add(grace)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond): // polling the process table
		}
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// sparseFile creates a file of the given apparent size that takes no space
// until written (kept if it exists: the VM's nodes are on it).
func sparseFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
