package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// probeSector is a boot sector that writes 0x31 to the isa-debug-exit port,
// making qemu exit with status (0x31<<1)|1 = 99: proof that a guest ran.
var probeSector = func() []byte {
	b := make([]byte, 512)
	copy(b, []byte{0xB0, 0x31, 0xE6, 0xF4, 0xF4, 0xEB, 0xFE}) // mov al,0x31; out 0xf4,al; hlt; jmp $
	b[510], b[511] = 0x55, 0xAA
	return b
}()

const probeExit = 99

// KVMWorks tells whether KVM really runs guests here. /dev/kvm existing is
// not enough: a nested, paravirtual KVM may exist and hang guests, or run a
// trivial one slowly and then hang a real one (seen on the CI machines: the
// probe guest sometimes finished in 3 s, sometimes never). So it boots a
// one-instruction guest under KVM twice, and KVM counts as working only if
// both runs finish within probeDeadline (a working KVM takes ~0.2 s).
func KVMWorks(ctx context.Context, qemu string) (bool, error) {
	if _, err := os.Stat("/dev/kvm"); err != nil {
		return false, nil
	}
	for i := 0; i < 2; i++ {
		ok, err := kvmProbe(ctx, qemu)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

const probeDeadline = 1500 * time.Millisecond

func kvmProbe(ctx context.Context, qemu string) (bool, error) {
	dir, err := os.MkdirTemp("", "vela-kvm-probe-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	img := filepath.Join(dir, "probe.img")
	if err := os.WriteFile(img, probeSector, 0o600); err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, probeDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, "-accel", "kvm", "-M", "pc", "-m", "16", "-nodefaults", "-no-user-config",
		"-display", "none", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-drive", "file="+img+",format=raw,if=floppy", "-boot", "a")
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == probeExit {
		return true, nil
	}
	return false, nil
}

// ResolveAccel turns the configured accel (auto, kvm, tcg) into the one to use.
func ResolveAccel(ctx context.Context, qemu, want string) (string, error) {
	switch want {
	case "tcg":
		return "tcg", nil
	case "kvm", "auto":
		ok, err := KVMWorks(ctx, qemu)
		if err != nil {
			return "", err
		}
		if ok {
			return "kvm", nil
		}
		if want == "kvm" {
			return "", fmt.Errorf("lab.accel is kvm, but KVM does not run guests on this host (a test guest did not run); set lab.accel: auto or tcg")
		}
		return "tcg", nil
	}
	return "", fmt.Errorf("unknown accel %q", want)
}
