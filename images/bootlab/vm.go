package bootlab

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ansiRE matches terminal escape sequences (systemd colours its status).
var ansiRE = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// VMConfig says what to boot.
type VMConfig struct {
	// Kernel, Initrd and Append boot a kernel directly; with Kernel empty
	// the VM boots from Disk through its firmware, like a machine whose
	// boot server answered "boot from disk".
	Kernel, Initrd, Append string
	// Disk is a raw disk image attached as virtio-blk (/dev/vda), optional.
	Disk string
	// Firmware is BIOS (SeaBIOS, the default) or UEFI (OVMF: its code
	// read-only, and the VM's own variable store).
	Firmware Firmware
	// UEFIVars is the VM's UEFI variable store (its NVRAM) under UEFI,
	// copied from OVMF's template when missing and kept across Starts like
	// a machine's NVRAM. Empty: a fresh copy per Start, removed by Stop.
	UEFIVars        string
	MemoryMiB, CPUs int
	MAC             string
	ServerPort      int       // the loopback Server's port
	Console         io.Writer // a copy of the serial console (optional)
}

// VM is a running qemu.
type VM struct {
	Started time.Time
	cmd     *exec.Cmd
	cleanup func()
	mu      sync.Mutex
	lines   []Line
	waiters []waiter
	done    chan error
}

// Line is one console line with the time it was seen since Started.
type Line struct {
	At   time.Duration
	Text string
}

type waiter struct {
	substr string
	ch     chan Line
}

// Qemu finds qemu-system-x86_64.
func Qemu() (string, error) { return exec.LookPath("qemu-system-x86_64") }

// Start boots the VM under TCG (KVM does not run guests on these hosts).
func Start(cfg VMConfig) (*VM, error) {
	q, err := Qemu()
	if err != nil {
		return nil, err
	}
	if cfg.MemoryMiB == 0 {
		cfg.MemoryMiB = 3072
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = 1
	}
	if cfg.MAC == "" {
		cfg.MAC = "52:54:00:76:6c:01"
	}
	nc, err := exec.LookPath("busybox")
	if err != nil {
		return nil, fmt.Errorf("busybox (for qemu guestfwd): %w", err)
	}
	if cfg.Kernel == "" && cfg.Disk == "" {
		return nil, fmt.Errorf("bootlab: a VM needs a kernel or a disk to boot")
	}
	fw, cleanup, err := firmware(cfg)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(q, qemuArgs(cfg, nc, fw)...)
	// Pdeathsig: a test binary killed by its -timeout runs no Cleanup; qemu
	// must not outlive it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	vm := &VM{cmd: cmd, cleanup: cleanup, done: make(chan error, 1)}
	vm.Started = time.Now()
	if err := cmd.Start(); err != nil {
		cleanup()
		return nil, err
	}
	go vm.read(out, cfg.Console)
	return vm, nil
}

// qemuArgs is qemu's command line for cfg (defaults filled), with nc the
// busybox that forwards the guest's GuestAddr:80 and fw the firmware's
// arguments.
func qemuArgs(cfg VMConfig, nc string, fw []string) []string {
	netdev := fmt.Sprintf("user,id=n0,restrict=on,guestfwd=tcp:%s:80-cmd:%s nc 127.0.0.1 %d", GuestAddr, nc, cfg.ServerPort)
	args := []string{"-accel", "tcg,tb-size=256", "-m", fmt.Sprint(cfg.MemoryMiB), "-smp", fmt.Sprint(cfg.CPUs),
		"-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none",
		"-netdev", netdev, "-device", "virtio-net-pci,netdev=n0,mac=" + cfg.MAC,
		"-device", "virtio-rng-pci"}
	args = append(args, fw...)
	if cfg.Kernel != "" {
		args = append(args, "-kernel", cfg.Kernel, "-initrd", cfg.Initrd, "-append", cfg.Append)
	} else if cfg.Firmware != UEFI {
		args = append(args, "-boot", "c")
	}
	switch {
	case cfg.Disk == "":
	case cfg.Firmware == UEFI:
		// OVMF follows bootindex (not -boot): the disk first, before the
		// NIC's PXE ROM, like a machine whose boot server said "disk".
		args = append(args, "-drive", "file="+cfg.Disk+",format=raw,if=none,id=disk0,cache=unsafe",
			"-device", "virtio-blk-pci,drive=disk0,bootindex=1")
	default:
		args = append(args, "-drive", "file="+cfg.Disk+",format=raw,if=virtio,cache=unsafe")
	}
	return args
}

func (vm *VM) read(r io.Reader, copyTo io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		text := ansiRE.ReplaceAllString(strings.TrimRight(sc.Text(), "\r"), "")
		l := Line{At: time.Since(vm.Started), Text: text}
		if copyTo != nil {
			fmt.Fprintf(copyTo, "[%6.2fs] %s\n", l.At.Seconds(), text)
		}
		vm.mu.Lock()
		vm.lines = append(vm.lines, l)
		kept := vm.waiters[:0]
		for _, w := range vm.waiters {
			if strings.Contains(text, w.substr) {
				w.ch <- l
				continue
			}
			kept = append(kept, w)
		}
		vm.waiters = kept
		vm.mu.Unlock()
	}
	vm.done <- vm.cmd.Wait()
	close(vm.done)
}

// WaitLine waits until a console line contains substr (or saw one already).
func (vm *VM) WaitLine(ctx context.Context, substr string) (Line, error) {
	vm.mu.Lock()
	for _, l := range vm.lines {
		if strings.Contains(l.Text, substr) {
			vm.mu.Unlock()
			return l, nil
		}
	}
	ch := make(chan Line, 1)
	vm.waiters = append(vm.waiters, waiter{substr, ch})
	vm.mu.Unlock()
	select {
	case l := <-ch:
		return l, nil
	case err := <-vm.done:
		return Line{}, fmt.Errorf("qemu exited (%v) before the console showed %q", err, substr)
	case <-ctx.Done():
		return Line{}, fmt.Errorf("console never showed %q: %w", substr, ctx.Err())
	}
}

// Lines returns the console so far.
func (vm *VM) Lines() []Line {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return append([]Line(nil), vm.lines...)
}

// Tail is the last n console lines as text.
func (vm *VM) Tail(n int) string {
	ls := vm.Lines()
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "[%6.2fs] %s\n", l.At.Seconds(), l.Text)
	}
	return b.String()
}

// Stop kills qemu (by its process group) and waits for it.
func (vm *VM) Stop() {
	if vm.cmd.Process != nil {
		_ = syscall.Kill(-vm.cmd.Process.Pid, syscall.SIGKILL)
	}
	for range vm.done {
	}
	vm.cleanup()
}
