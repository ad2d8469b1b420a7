package nodeimage

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

//go:embed files/vela-node-init
var nodeInit []byte

// Init is the path of the node's init inside the image (the LXC domain's <init>).
const Init = "/sbin/vela-node-init"

// Paths the hypervisor agent fills in a node's upper layer before start.
const (
	TLSDir      = "/etc/vela/node/tls" // ca.pem, cert.pem, key.pem
	DockerdArgs = "/etc/vela/node/dockerd.args"
	DockerPort  = 2376
)

// Artifact is the name of the tree artifact in the store.
const Artifact = images.Rootfs

// Recipe is everything the node image depends on.
type Recipe debroot.Recipe

// DefaultRecipe is the node image as shipped.
func DefaultRecipe() Recipe {
	return Recipe{
		Format: 1, Suite: debroot.DefaultSuite, Mirror: debroot.DefaultMirror, SecurityMirror: debroot.DefaultSecurityMirror,
		Packages: []string{"docker.io", "tini", "iproute2", "iptables", "ca-certificates", "procps", "curl"},
	}
}

// Hash is the hex sha256 of the recipe and the init script.
func (r Recipe) Hash() string { return debroot.Recipe(r).Hash(nodeInit) }

// Version names a build in the store.
func (r Recipe) Version() string { return r.Suite + "-" + r.Hash()[:12] }

// Store is what the builder needs of the image store.
type Store = debroot.Store

// Config configures a Builder.
type Config struct {
	Store    Store
	CacheDir string
	Recipe   Recipe
	Force    bool
	Logger   *slog.Logger
	Progress images.ProgressFunc
}

// Builder builds the node image.
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

// Build makes the node image for the recipe, or finds it in the store, and
// makes it current.
func (b *Builder) Build(ctx context.Context) (Result, error) {
	start := time.Now()
	r := b.cfg.Recipe
	hash := r.Hash()
	m, cached, err := debroot.ImageBuild{Image: images.Node, Recipe: debroot.Recipe(r), Hash: hash, Store: b.cfg.Store,
		CacheDir: b.cfg.CacheDir, Force: b.cfg.Force, Logger: b.cfg.Logger, Progress: b.cfg.Progress,
		Root: Artifact, NeedSpace: needSpace,
		Finish: func(ctx context.Context, st *store.Staging, root string) (store.Manifest, error) {
			if err := customize(root); err != nil {
				return store.Manifest{}, fmt.Errorf("node image: %w", err)
			}
			return st.Commit(ctx, store.Manifest{
				Version: r.Version(),
				Source:  fmt.Sprintf("built from Debian %s (%s)", r.Suite, r.Mirror),
				Recipe:  hash,
				Meta:    map[string]string{"init": Init, "docker_port": fmt.Sprint(DockerPort), "tls_dir": TLSDir},
			}, []string{Artifact}, true)
		}}.Run(ctx)
	// Older node images are not pruned here: running nodes may use them as
	// their overlay lower layer. The agent removes versions no node uses.
	return Result{Manifest: m, Cached: cached, Took: time.Since(start)}, err
}

// customize installs the init and empties what each node must own.
func customize(root string) error {
	if err := os.WriteFile(filepath.Join(root, strings.TrimPrefix(Init, "/")), nodeInit, 0o755); err != nil {
		return err
	}
	for _, d := range []string{TLSDir, "var/lib/docker"} {
		if err := os.MkdirAll(filepath.Join(root, strings.TrimPrefix(d, "/")), 0o700); err != nil {
			return err
		}
	}
	// docker.io's units and init scripts are unused: vela-node-init runs dockerd.
	return os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("node\n"), 0o644)
}

// needSpace is what a build needs (said when the disk fills).
const needSpace = "the node image needs about 1 GiB"
