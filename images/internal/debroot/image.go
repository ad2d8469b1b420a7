package debroot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"path/filepath"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/store"
)

// Recipe is what an image rooted in Debian is built from. Its JSON form is
// part of the images' recipe hashes (the store's cache keys): renaming or
// reordering its fields rebuilds every such image.
type Recipe struct {
	Format         int      `json:"format"`
	Suite          string   `json:"suite"`
	Mirror         string   `json:"mirror"`
	SecurityMirror string   `json:"security_mirror"`
	Packages       []string `json:"packages"`
}

// Hash is the hex sha256 of the recipe's JSON followed by extra: whatever
// else the image is made of (an init script, an entrypoint).
func (r Recipe) Hash(extra ...[]byte) string {
	b, _ := json.Marshal(r)
	h := sha256.New()
	h.Write(b)
	for _, e := range extra {
		h.Write(e)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Store is what an image build needs of the image store.
type Store interface {
	Lock(image string) (func(), error)
	FindRecipe(image, recipe string) (store.Manifest, bool, error)
	Verify(ctx context.Context, image, version string, p images.ProgressFunc) error
	SetCurrent(image, version string) error
	Stage(image string) (*store.Staging, error)
}

// ImageBuild is one build of an image from a Recipe: the steps every image
// built from a Debian root shares.
type ImageBuild struct {
	Image    string // the store's name of the image
	Recipe   Recipe
	Hash     string // the recipe hash (Recipe.Hash with the image's extras)
	Store    Store
	CacheDir string // downloaded packages, shared by builds
	Force    bool   // build even when the store has this recipe
	Logger   *slog.Logger
	Progress images.ProgressFunc
	// Root is the root directory's name in the staging directory.
	Root string
	// NeedSpace says how much room a build needs (for a full disk's error).
	NeedSpace string
	// Finish makes the image's artifacts from the root and commits them
	// (st.Commit).
	Finish func(ctx context.Context, st *store.Staging, root string) (store.Manifest, error)
}

// Run finds a build of the same recipe hash in the store (unless Force),
// or debootstraps the root in a staging directory and hands it to Finish.
// It returns the manifest and whether it was found.
func (b ImageBuild) Run(ctx context.Context) (store.Manifest, bool, error) {
	unlock, err := b.Store.Lock(b.Image)
	if err != nil {
		return store.Manifest{}, false, err
	}
	defer unlock()
	if !b.Force {
		if m, ok, err := store.ReuseBuild(ctx, b.Store, b.Image, b.Hash, b.Progress, b.Logger); err != nil || ok {
			return m, ok, err
		}
	}
	st, err := b.Store.Stage(b.Image)
	if err != nil {
		return store.Manifest{}, false, err
	}
	defer st.Abort()
	root := filepath.Join(st.Dir(), b.Root)
	r := b.Recipe
	cfg := Config{Image: b.Image, Suite: r.Suite, Mirror: r.Mirror, SecurityMirror: r.SecurityMirror,
		Packages: r.Packages, CacheDir: b.CacheDir, Logger: b.Logger, Progress: b.Progress}
	if err := Build(ctx, cfg, root); err != nil {
		return store.Manifest{}, false, ExplainFull(err, st.Dir(), b.NeedSpace)
	}
	m, err := b.Finish(ctx, st, root)
	if err != nil {
		return store.Manifest{}, false, ExplainFull(err, st.Dir(), b.NeedSpace)
	}
	return m, false, nil
}
