package store

import (
	"context"
	"log/slog"

	"github.com/vela-appliance/vela/images"
)

// Cache is what ReuseBuild needs of a store (Store has it; builders' fakes too).
type Cache interface {
	FindRecipe(image, recipe string) (Manifest, bool, error)
	Verify(ctx context.Context, image, version string, p images.ProgressFunc) error
	SetCurrent(image, version string) error
}

// ReuseBuild is the build cache of every image builder: if a version built
// from the same recipe hash is in the store and still verifies, it becomes
// the current version and ok is true (the build is a no-op). A cached
// version that fails verification is logged and left for a rebuild.
func ReuseBuild(ctx context.Context, c Cache, image, recipe string, p images.ProgressFunc, log *slog.Logger) (m Manifest, ok bool, err error) {
	m, found, err := c.FindRecipe(image, recipe)
	if err != nil || !found {
		return Manifest{}, false, err
	}
	if err := c.Verify(ctx, image, m.Version, p); err != nil {
		log.Warn("cached build failed verification; rebuilding", "image", image, "version", m.Version, "err", err)
		return Manifest{}, false, nil
	}
	return m, true, c.SetCurrent(image, m.Version)
}
