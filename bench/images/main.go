// Command images benchmarks the vela-os build and boot and the node image,
// each beside a reference from the same run, as ratios:
//
//	build: cold build (a fresh store; -cold also starts from an empty .deb
//	       and Ignition cache) vs the cached rebuild of the same recipe;
//	size:  each artifact vs the rootfs squashfs;
//	boot:  vela-os from qemu start to multi-user.target (reported by the
//	       guest) under TCG vs the same kernel booting a busybox initramfs
//	       to its /init.
//
// Run as root: go run ./bench/images [-cold] [-keep]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/bootlab"
	"github.com/vela-appliance/vela/images/nodeimage"
	"github.com/vela-appliance/vela/images/store"
	"github.com/vela-appliance/vela/images/velaos"
)

func main() {
	cold := flag.Bool("cold", false, "also start from an empty .deb and Ignition cache (downloads everything)")
	keep := flag.Bool("keep", false, "keep the temporary store")
	flag.Parse()
	if err := run(*cold, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench images:", err)
		os.Exit(1)
	}
}

func run(cold, keep bool) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("/var/tmp", "vela-bench-images-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(tmp)
	}
	cache := images.DefaultCacheDir
	if v := os.Getenv(images.EnvCacheDir); v != "" {
		cache = v
	}
	if cold {
		cache = filepath.Join(tmp, "cache")
	}
	st, err := store.New(store.Config{Dir: filepath.Join(tmp, "store")})
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	b := velaos.New(velaos.Config{Store: st, CacheDir: cache, Recipe: velaos.DefaultRecipe(), Logger: log})
	first, err := b.Build(ctx)
	if err != nil {
		return err
	}
	second, err := b.Build(ctx)
	if err != nil {
		return err
	}
	nb := nodeimage.New(nodeimage.Config{Store: st, CacheDir: cache, Recipe: nodeimage.DefaultRecipe(), Logger: log})
	node, err := nb.Build(ctx)
	if err != nil {
		return err
	}
	boot, err := bootlab.BootVelaOS(ctx, st.VersionDir(images.VelaOS, first.Manifest.Version), first.Manifest)
	if err != nil {
		return err
	}
	ref, err := bootReference(ctx, st.VersionDir(images.VelaOS, first.Manifest.Version))
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	coldName := "cold build (fresh store, warm .deb cache)"
	if cold {
		coldName = "cold build (fresh store and caches)"
	}
	fmt.Fprintln(w, "measure\tvalue\treference\treference value\tratio\t")
	fmt.Fprintf(w, "vela-os %s\t%.1fs\tcached rebuild\t%.2fs\t%.0fx\t\n", coldName, first.Took.Seconds(), second.Took.Seconds(), first.Took.Seconds()/second.Took.Seconds())
	rootfs, _ := first.Manifest.Artifact(images.Rootfs)
	for _, a := range first.Manifest.Artifacts {
		fmt.Fprintf(w, "vela-os %s size\t%.1f MiB\trootfs\t%.1f MiB\t%.3f\t\n", a.Name, mib(a.Size), mib(rootfs.Size), float64(a.Size)/float64(rootfs.Size))
	}
	na, _ := node.Manifest.Artifact(nodeimage.Artifact)
	fmt.Fprintf(w, "node image tree size\t%.1f MiB\tvela-os rootfs\t%.1f MiB\t%.2f\t\n", mib(na.Size), mib(rootfs.Size), float64(na.Size)/float64(rootfs.Size))
	fmt.Fprintf(w, "node image build\t%.1fs\tvela-os build\t%.1fs\t%.2f\t\n", node.Took.Seconds(), first.Took.Seconds(), node.Took.Seconds()/first.Took.Seconds())
	fmt.Fprintf(w, "vela-os qemu start -> multi-user (TCG)\t%.1fs\tkernel+busybox /init\t%.1fs\t%.1fx\t\n", boot.Seconds(), ref.Seconds(), boot.Seconds()/ref.Seconds())
	fmt.Fprintln(w, "node start -> dockerd TLS ready\tsee test\t(go test -run TestNodeStartsDockerdWithTLS ./images/nodeimage logs it; libvirt LXC: cluster/agent)\t\t\t")
	return w.Flush()
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// bootReference boots the same kernel with a busybox-only initramfs whose
// /init prints a marker, and returns the time to the marker.
func bootReference(ctx context.Context, dir string) (time.Duration, error) {
	tmp, err := os.MkdirTemp("", "vela-bench-ref-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "root")
	for _, d := range []string{"bin", "proc"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return 0, err
	}
	if out, err := exec.Command("cp", bb, filepath.Join(root, "bin/busybox")).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("cp busybox: %v: %s", err, out)
	}
	os.Symlink("busybox", filepath.Join(root, "bin/sh"))
	os.WriteFile(filepath.Join(root, "init"), []byte("#!/bin/sh\necho VELA-REFERENCE-INIT\n/bin/busybox poweroff -f\n"), 0o755)
	initrd := filepath.Join(tmp, "initrd")
	if out, err := exec.Command("sh", "-c", "cd "+root+" && find . | cpio -o -H newc --quiet | gzip > "+initrd).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("reference initramfs: %v: %s", err, out)
	}
	vm, err := bootlab.Start(bootlab.VMConfig{Kernel: filepath.Join(dir, images.Kernel), Initrd: initrd, Append: "console=ttyS0,115200n8"})
	if err != nil {
		return 0, err
	}
	defer vm.Stop()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	l, err := vm.WaitLine(ctx, "VELA-REFERENCE-INIT")
	if err != nil {
		return 0, fmt.Errorf("%v\n%s", err, strings.TrimSpace(vm.Tail(20)))
	}
	return l.At, nil
}
