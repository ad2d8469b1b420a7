package velaos

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/internal/debroot"
	"github.com/vela-appliance/vela/images/store"
)

// Store is what the builder needs of the image store.
type Store interface {
	debroot.Store
	Prune(image string, keep int) ([]string, error)
}

// Config configures a Builder.
type Config struct {
	Store    Store
	CacheDir string // .deb files and the Ignition binary, e.g. /var/cache/vela/images
	Recipe   Recipe
	// Busybox is the static busybox put in the initramfs (default /bin/busybox,
	// from Debian's busybox-static).
	Busybox string
	// IgnitionBinary, when set, is used instead of building Ignition.
	IgnitionBinary string
	Force          bool // rebuild even when the recipe is in the store
	Logger         *slog.Logger
	Progress       images.ProgressFunc
}

// Builder builds vela-os.
type Builder struct {
	cfg Config
	log *slog.Logger
}

// New returns a Builder; it checks nothing on the host until Build.
func New(cfg Config) *Builder {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Busybox == "" {
		cfg.Busybox = "/bin/busybox"
	}
	return &Builder{cfg: cfg, log: cfg.Logger}
}

func (b *Builder) progress(step string, done, total int64) {
	b.cfg.Progress.Report(images.Progress{Image: images.VelaOS, Step: step, Done: done, Total: total, Unit: "steps"})
}

// Result is the outcome of a build.
type Result struct {
	Manifest store.Manifest
	Cached   bool // the recipe was already built; nothing was done
	Took     time.Duration
}

// Build makes vela-os for the recipe, or finds it in the store, and makes it
// the current vela-os.
func (b *Builder) Build(ctx context.Context) (Result, error) {
	start := time.Now()
	r := b.cfg.Recipe
	if err := b.fillInputs(ctx, &r); err != nil {
		return Result{}, err
	}
	hash := r.Hash()
	unlock, err := b.cfg.Store.Lock(images.VelaOS)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	if !b.cfg.Force {
		if m, ok, err := store.ReuseBuild(ctx, b.cfg.Store, images.VelaOS, hash, b.cfg.Progress, b.log); err != nil || ok {
			if ok {
				b.log.Info("vela-os recipe already built", "version", m.Version, "recipe", hash)
			}
			return Result{Manifest: m, Cached: ok, Took: time.Since(start)}, err
		}
	}
	st, err := b.cfg.Store.Stage(images.VelaOS)
	if err != nil {
		return Result{}, err
	}
	defer st.Abort()
	m, err := b.build(ctx, r, hash, st)
	if err != nil {
		return Result{}, explain(err, st.Dir())
	}
	b.prune()
	return Result{Manifest: m, Took: time.Since(start)}, nil
}

// fillInputs records the hashes of host files the build takes.
func (b *Builder) fillInputs(ctx context.Context, r *Recipe) error {
	r.Inputs = map[string]string{}
	sum, _, err := store.HashFile(ctx, b.cfg.Busybox, nil)
	if err != nil {
		return fmt.Errorf("vela-os needs a static busybox at %s: %w; apt-get install busybox-static", b.cfg.Busybox, err)
	}
	r.Inputs["busybox"] = sum
	if b.cfg.IgnitionBinary != "" {
		sum, _, err := store.HashFile(ctx, b.cfg.IgnitionBinary, nil)
		if err != nil {
			return fmt.Errorf("ignition binary: %w", err)
		}
		r.Inputs["ignition"] = sum
	}
	return nil
}

func (b *Builder) build(ctx context.Context, r Recipe, hash string, st *store.Staging) (store.Manifest, error) {
	ign, err := b.ignitionBinary(ctx, r)
	if err != nil {
		return store.Manifest{}, err
	}
	work := filepath.Join(st.Dir(), "work")
	root := filepath.Join(work, "root")
	dcfg := debroot.Config{Image: images.VelaOS, Suite: r.Suite, Mirror: r.Mirror, SecurityMirror: r.SecurityMirror,
		Packages: r.Packages, CacheDir: b.cfg.CacheDir, Logger: b.log, Progress: b.cfg.Progress}
	t := time.Now()
	if err := debroot.Build(ctx, dcfg, root); err != nil {
		return store.Manifest{}, err
	}
	b.log.Info("vela-os root built", "took", time.Since(t).Round(time.Millisecond))
	if err := customizeRoot(ctx, root, b.log); err != nil {
		return store.Manifest{}, err
	}
	kver, err := kernelVersion(root)
	if err != nil {
		return store.Manifest{}, err
	}
	if err := copyFile(filepath.Join(root, "boot", "vmlinuz-"+kver), filepath.Join(st.Dir(), images.Kernel), 0o644); err != nil {
		return store.Manifest{}, fmt.Errorf("copy kernel %s: %w", kver, err)
	}
	b.progress("initramfs", 0, 1)
	ird := filepath.Join(work, "initramfs")
	if err := assembleInitramfs(ird, root, kver, b.cfg.Busybox, ign, r); err != nil {
		return store.Manifest{}, fmt.Errorf("initramfs: %w", err)
	}
	if err := writeInitramfs(ird, filepath.Join(st.Dir(), images.Initramfs)); err != nil {
		return store.Manifest{}, err
	}
	b.progress("initramfs", 1, 1)
	// The root image carries the initramfs too: an install to disk copies
	// it from there (verified with the root image's sha256).
	if err := copyFile(filepath.Join(st.Dir(), images.Initramfs), filepath.Join(root, RootInitramfs), 0o644); err != nil {
		return store.Manifest{}, fmt.Errorf("copy the initramfs into the root: %w", err)
	}
	if err := squashfs(ctx, root, filepath.Join(st.Dir(), images.Rootfs), r.SquashfsLevel, b.log, b.cfg.Progress); err != nil {
		return store.Manifest{}, err
	}
	if err := os.RemoveAll(work); err != nil {
		return store.Manifest{}, err
	}
	m := store.Manifest{
		Version: r.Version(),
		Source:  fmt.Sprintf("built from Debian %s (%s) with Ignition %s", r.Suite, r.Mirror, IgnitionVersion),
		Recipe:  hash,
		Meta:    map[string]string{"kernel_version": kver, "kernel_args": KernelArgs},
	}
	return st.Commit(ctx, m, []string{images.Kernel, images.Initramfs, images.Rootfs}, true)
}

// RootInitramfs is where the root image keeps a copy of its initramfs, for
// installs to disk (files/initramfs/disk.sh).
const RootInitramfs = "boot/vela-initramfs.img"

func kernelVersion(root string) (string, error) {
	ents, err := os.ReadDir(filepath.Join(root, "lib/modules"))
	if err != nil {
		return "", fmt.Errorf("no kernel modules in the root: %w", err)
	}
	var found []string
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(root, "boot", "vmlinuz-"+e.Name())); err == nil {
			found = append(found, e.Name())
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("want exactly one kernel in the root, found %v; is linux-image-amd64 in the recipe?", found)
	}
	return found[0], nil
}

func explain(err error, dir string) error {
	return debroot.ExplainFull(err, dir, "a vela-os build needs about 3 GiB")
}

// KeepVersions is how many versions of an image a build leaves in the store
// (the new current one and the one before it).
const KeepVersions = 2

func (b *Builder) prune() {
	if removed, err := b.cfg.Store.Prune(images.VelaOS, KeepVersions); err != nil {
		b.log.Warn("prune old vela-os versions", "err", err)
	} else if len(removed) > 0 {
		b.log.Info("pruned old vela-os versions", "removed", removed)
	}
}
