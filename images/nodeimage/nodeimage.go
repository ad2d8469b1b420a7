package nodeimage

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
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
type Recipe struct {
	Format         int      `json:"format"`
	Suite          string   `json:"suite"`
	Mirror         string   `json:"mirror"`
	SecurityMirror string   `json:"security_mirror"`
	Packages       []string `json:"packages"`
}

// DefaultRecipe is the node image as shipped.
func DefaultRecipe() Recipe {
	return Recipe{
		Format: 1, Suite: debroot.DefaultSuite, Mirror: debroot.DefaultMirror, SecurityMirror: debroot.DefaultSecurityMirror,
		Packages: []string{"docker.io", "tini", "iproute2", "iptables", "ca-certificates", "procps", "curl"},
	}
}

// Hash is the hex sha256 of the recipe and the init script.
func (r Recipe) Hash() string {
	b, _ := json.Marshal(r)
	h := sha256.New()
	h.Write(b)
	h.Write(nodeInit)
	return hex.EncodeToString(h.Sum(nil))
}

// Version names a build in the store.
func (r Recipe) Version() string { return r.Suite + "-" + r.Hash()[:12] }

// Store is what the builder needs of the image store.
type Store interface {
	Lock(image string) (func(), error)
	FindRecipe(image, recipe string) (store.Manifest, bool, error)
	Verify(ctx context.Context, image, version string, p images.ProgressFunc) error
	SetCurrent(image, version string) error
	Stage(image string) (*store.Staging, error)
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
	unlock, err := b.cfg.Store.Lock(images.Node)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	if !b.cfg.Force {
		if m, ok, err := store.ReuseBuild(ctx, b.cfg.Store, images.Node, hash, b.cfg.Progress, b.cfg.Logger); err != nil || ok {
			return Result{Manifest: m, Cached: ok, Took: time.Since(start)}, err
		}
	}
	st, err := b.cfg.Store.Stage(images.Node)
	if err != nil {
		return Result{}, err
	}
	defer st.Abort()
	root := filepath.Join(st.Dir(), Artifact)
	dcfg := debroot.Config{Image: images.Node, Suite: r.Suite, Mirror: r.Mirror, SecurityMirror: r.SecurityMirror,
		Packages: r.Packages, CacheDir: b.cfg.CacheDir, Logger: b.cfg.Logger, Progress: b.cfg.Progress}
	if err := debroot.Build(ctx, dcfg, root); err != nil {
		return Result{}, explain(err, st.Dir())
	}
	if err := customize(root); err != nil {
		return Result{}, explain(fmt.Errorf("node image: %w", err), st.Dir())
	}
	m, err := st.Commit(ctx, store.Manifest{
		Version: r.Version(),
		Source:  fmt.Sprintf("built from Debian %s (%s)", r.Suite, r.Mirror),
		Recipe:  hash,
		Meta:    map[string]string{"init": Init, "docker_port": fmt.Sprint(DockerPort), "tls_dir": TLSDir},
	}, []string{Artifact}, true)
	if err != nil {
		return Result{}, explain(err, st.Dir())
	}
	// Older node images are not pruned here: running nodes may use them as
	// their overlay lower layer. The agent removes versions no node uses.
	return Result{Manifest: m, Took: time.Since(start)}, nil
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

func explain(err error, dir string) error {
	return debroot.ExplainFull(err, dir, "the node image needs about 1 GiB")
}
