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
	// the VM boots from Disk through its BIOS (SeaBIOS), like a machine
	// whose boot server answered "boot from disk".
	Kernel, Initrd, Append string
	// Disk is a raw disk image attached as virtio-blk (/dev/vda), optional.
	Disk            string
	MemoryMiB, CPUs int
	MAC             string
	ServerPort      int       // the loopback Server's port
	Console         io.Writer // a copy of the serial console (optional)
}

// VM is a running qemu.
type VM struct {
	Started time.Time
	cmd     *exec.Cmd
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
	netdev := fmt.Sprintf("user,id=n0,restrict=on,guestfwd=tcp:%s:80-cmd:%s nc 127.0.0.1 %d", GuestAddr, nc, cfg.ServerPort)
	args := []string{"-accel", "tcg,tb-size=256", "-m", fmt.Sprint(cfg.MemoryMiB), "-smp", fmt.Sprint(cfg.CPUs),
		"-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none",
		"-netdev", netdev, "-device", "virtio-net-pci,netdev=n0,mac=" + cfg.MAC,
		"-device", "virtio-rng-pci"}
	if cfg.Kernel != "" {
		args = append(args, "-kernel", cfg.Kernel, "-initrd", cfg.Initrd, "-append", cfg.Append)
	} else {
		if cfg.Disk == "" {
			return nil, fmt.Errorf("bootlab: a VM needs a kernel or a disk to boot")
		}
		args = append(args, "-boot", "c")
	}
	if cfg.Disk != "" {
		args = append(args, "-drive", "file="+cfg.Disk+",format=raw,if=virtio,cache=unsafe")
	}
	cmd := exec.Command(q, args...)
	// Pdeathsig: a test binary killed by its -timeout runs no Cleanup; qemu
	// must not outlive it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	vm := &VM{cmd: cmd, done: make(chan error, 1)}
	vm.Started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go vm.read(out, cfg.Console)
	return vm, nil
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
}
