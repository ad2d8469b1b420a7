package bootlab

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/store"
)

// BootVelaOS boots the vela-os build in dir (its manifest m) with a minimal
// Ignition config and returns the time from qemu start to the guest's
// "booted" report (multi-user.target): the reference the lab and images
// benchmarks compare against.
func BootVelaOS(ctx context.Context, dir string, m store.Manifest) (time.Duration, error) {
	rootfs, _ := m.Artifact(images.Rootfs)
	srv, err := NewServer(map[string]string{"/images/vela-os/rootfs": filepath.Join(dir, images.Rootfs)}, []byte(`{"ignition":{"version":"3.4.0"}}`))
	if err != nil {
		return 0, err
	}
	defer srv.Close()
	base := "http://" + GuestAddr
	args := fmt.Sprintf("%s vela.rootfs=%s/images/vela-os/rootfs vela.rootfs_sha256=%s ignition.config.url=%s/ignition/x vela.report=%s/report/x",
		m.Meta["kernel_args"], base, rootfs.SHA256, base, base)
	vm, err := Start(VMConfig{Kernel: filepath.Join(dir, images.Kernel), Initrd: filepath.Join(dir, images.Initramfs), Append: args, ServerPort: srv.Port})
	if err != nil {
		return 0, err
	}
	defer vm.Stop()
	ctx, cancel := context.WithTimeout(ctx, 6*time.Minute)
	defer cancel()
	select {
	case r := <-srv.Reports:
		if r.State != "booted" {
			return 0, fmt.Errorf("vela-os reported %s: %s", r.State, r.Detail)
		}
		return time.Since(vm.Started), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("vela-os did not boot:\n%s", vm.Tail(40))
	}
}
