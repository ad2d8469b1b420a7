package libvirtimg

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/internal/debroot"
	"github.com/vela-appliance/vela/images/store"
)

//go:embed files/vela-libvirtd
var entrypoint []byte

// Image is the image's name in the store, in `vela images build libvirtd`
// and on the boot server.
const Image = "libvirtd"

// Artifact is the docker-archive file in the store.
const Artifact = "libvirtd.tar"

// Ref is the name the image loads as; vela-libvirtd.service runs it.
const Ref = "localhost/vela-libvirtd:latest"

// Entrypoint is the image's default command.
const Entrypoint = "/usr/local/sbin/vela-libvirtd"

// Env is the image's environment.
var Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8"}

// Recipe is everything the image depends on.
type Recipe debroot.Recipe

// DefaultRecipe is the image as shipped. libvirt-daemon-system is left
// out on purpose: in a container libvirtd runs in the foreground (no
// systemd units or socket activation), and the package would pull in
// polkitd, logrotate and libvirt's default NAT network (which would
// create virbr0 on the host, whose network the container shares). The
// users and groups it would create are made by customize instead.
func DefaultRecipe() Recipe {
	return Recipe{
		Format: 1, Suite: debroot.DefaultSuite, Mirror: debroot.DefaultMirror, SecurityMirror: debroot.DefaultSecurityMirror,
		Packages: []string{"libvirt-daemon", "libvirt-daemon-driver-lxc", "libvirt-clients", "iproute2", "iptables", "procps", "ca-certificates"},
	}
}

// Hash is the hex sha256 of the recipe, the entrypoint and the archive format.
func (r Recipe) Hash() string {
	return debroot.Recipe(r).Hash(entrypoint, fmt.Appendf(nil, "%s %s %q", Ref, Entrypoint, Env))
}

// Version names a build in the store.
func (r Recipe) Version() string { return r.Suite + "-" + r.Hash()[:12] }

// Store is what the builder needs of the image store.
type Store interface {
	debroot.Store
	Prune(image string, keep int) ([]string, error)
}

// Config configures a Builder.
type Config struct {
	Store    Store
	CacheDir string
	Recipe   Recipe
	Force    bool
	Logger   *slog.Logger
	Progress images.ProgressFunc
}

// Builder builds the libvirtd image.
type Builder struct{ cfg Config }

// New returns a Builder.
func New(cfg Config) *Builder {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Builder{cfg: cfg}
}

// Result is the outcome of a build.
type Result struct {
	Manifest store.Manifest
	Cached   bool
	Took     time.Duration
}

// Build makes the image for the recipe, or finds it in the store, and makes
// it current.
func (b *Builder) Build(ctx context.Context) (Result, error) {
	start := time.Now()
	r := b.cfg.Recipe
	hash := r.Hash()
	m, cached, err := debroot.ImageBuild{Image: Image, Recipe: debroot.Recipe(r), Hash: hash, Store: b.cfg.Store,
		CacheDir: b.cfg.CacheDir, Force: b.cfg.Force, Logger: b.cfg.Logger, Progress: b.cfg.Progress,
		Root:      "rootfs", // scratch: only the archive is kept
		NeedSpace: "the libvirtd image needs about 1 GiB while building",
		Finish: func(ctx context.Context, st *store.Staging, root string) (store.Manifest, error) {
			version, err := customize(ctx, root, b.cfg.Logger)
			if err != nil {
				return store.Manifest{}, fmt.Errorf("libvirtd image: %w", err)
			}
			arch, err := b.pack(ctx, root, st.Dir())
			if err != nil {
				return store.Manifest{}, fmt.Errorf("libvirtd image: %w", err)
			}
			return st.Commit(ctx, store.Manifest{
				Version: r.Version(),
				Source:  fmt.Sprintf("built from Debian %s (%s)", r.Suite, r.Mirror),
				Recipe:  hash,
				Meta: map[string]string{"ref": Ref, "image_id": arch.ImageID, "diff_id": arch.DiffID,
					"libvirt_version": version, "format": "docker-archive"},
			}, []string{Artifact}, true)
		}}.Run(ctx)
	if err != nil || cached {
		return Result{Manifest: m, Cached: cached, Took: time.Since(start)}, err
	}
	// Nothing runs from an older version: keep the last two.
	if gone, err := b.cfg.Store.Prune(Image, 2); err != nil {
		b.cfg.Logger.Warn("pruning old libvirtd images", "err", err)
	} else if len(gone) > 0 {
		b.cfg.Logger.Info("pruned old libvirtd images", "versions", gone)
	}
	return Result{Manifest: m, Took: time.Since(start)}, nil
}

// pack writes root as a one-layer docker-archive at dir/Artifact, going
// through dir/layer.tar, and removes root and the layer.
func (b *Builder) pack(ctx context.Context, root, dir string) (Archive, error) {
	b.cfg.Progress.Report(images.Progress{Image: Image, Step: "layer", Done: 0, Total: 2, Unit: "steps"})
	layerPath := filepath.Join(dir, "layer.tar")
	lf, err := os.Create(layerPath)
	if err != nil {
		return Archive{}, err
	}
	defer os.Remove(layerPath)
	defer lf.Close()
	size, diffID, err := WriteLayer(ctx, lf, root)
	if err != nil {
		return Archive{}, err
	}
	if _, err := lf.Seek(0, 0); err != nil {
		return Archive{}, err
	}
	if err := os.RemoveAll(root); err != nil {
		return Archive{}, err
	}
	b.cfg.Progress.Report(images.Progress{Image: Image, Step: "archive", Done: 1, Total: 2, Unit: "steps"})
	out, err := os.Create(filepath.Join(dir, Artifact))
	if err != nil {
		return Archive{}, err
	}
	defer out.Close()
	arch, err := WriteArchive(out, ImageConfig{Ref: Ref, Cmd: []string{Entrypoint}, Env: Env, Created: time.Now(),
		Labels: map[string]string{"org.opencontainers.image.title": "vela-libvirtd", "org.opencontainers.image.description": "libvirtd with the LXC driver for Vela hypervisors on Fedora CoreOS"}},
		Layer{R: lf, Size: size, DiffID: diffID})
	if err != nil {
		return Archive{}, err
	}
	if err := out.Sync(); err != nil {
		return Archive{}, err
	}
	b.cfg.Progress.Report(images.Progress{Image: Image, Step: "archive", Done: 2, Total: 2, Unit: "steps"})
	return arch, out.Close()
}

// customize installs the entrypoint, makes the users libvirtd expects (the
// ones libvirt-daemon-system would make) and returns libvirtd's version.
func customize(ctx context.Context, root string, log *slog.Logger) (string, error) {
	p := filepath.Join(root, strings.TrimPrefix(Entrypoint, "/"))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(p, entrypoint, 0o755); err != nil {
		return "", err
	}
	for _, d := range []string{"run/libvirt", "var/lib/libvirt", "var/log/libvirt/lxc", "var/cache/libvirt", "var/lib/vela"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return "", err
		}
	}
	script := `set -e
getent group libvirt >/dev/null || groupadd -r libvirt
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
getent passwd libvirt-qemu >/dev/null || useradd -r -g libvirt-qemu -M -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
libvirtd --version
`
	var version string
	err := debroot.Run(ctx, debroot.Cmd{Log: log, What: "libvirtd image: users and version", Env: []string{"LC_ALL=C"},
		OnLine: func(l string) {
			if v, ok := strings.CutPrefix(l, "libvirtd (libvirt) "); ok {
				version = strings.TrimSpace(v)
			}
		}}, "chroot", root, "/bin/sh", "-c", script)
	if err != nil {
		return "", err
	}
	if version == "" {
		return "", fmt.Errorf("libvirtd --version in %s printed no version; is libvirt-daemon in the recipe?", root)
	}
	return version, nil
}
