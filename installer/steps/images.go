package steps

import (
	"context"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/store"
	"github.com/vela-appliance/vela/images/velaos"
	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/installer/plan"
	"github.com/vela-appliance/vela/installer/run"
)

// prepareImages makes sure the boot artifacts of the configured OS are in
// the image store: vela-os is built (or found by its recipe hash, a no-op),
// Fedora CoreOS must have been imported, a custom image is served from the
// paths in the config (preflight checked they exist).
func (e *Env) prepareImages(ctx context.Context, _ plan.Step, r run.Reporter) error {
	switch e.Config.OS.Image {
	case config.ImageCustom:
		r.Logf("custom image: serving %s and %s from the config's paths", e.Config.OS.Kernel, e.Config.OS.Initramfs)
		return nil
	case config.ImageFCOS:
		st, err := store.New(store.Config{Dir: e.ImageDir, Logger: e.logger()})
		if err != nil {
			return err
		}
		if err := st.Verify(ctx, images.FCOS, "current", progress(r)); err != nil {
			return run.Failf("bring the Fedora CoreOS PXE artifacts and run `vela images import fcos DIR`, then run again",
				"Fedora CoreOS is not in the image store %s: %v", e.ImageDir, err)
		}
		return nil
	}
	st, err := store.New(store.Config{Dir: e.ImageDir, Logger: e.logger()})
	if err != nil {
		return err
	}
	cache := e.ImageCache
	if cache == "" {
		cache = images.DefaultCacheDir
	}
	res, err := velaos.New(velaos.Config{Store: st, CacheDir: cache, Recipe: velaos.DefaultRecipe(),
		Logger: e.logger(), Progress: progress(r)}).Build(ctx)
	if err != nil {
		return run.Failf("see the error above; a rerun resumes the build from its cache", "building vela-os: %v", err)
	}
	if res.Cached {
		r.Logf("vela-os %s found in the store (recipe unchanged)", res.Manifest.Version)
	} else {
		r.Logf("vela-os %s built in %s", res.Manifest.Version, res.Took.Round(1e9))
	}
	return nil
}

// progress turns image builder progress into step progress events.
func progress(r run.Reporter) images.ProgressFunc {
	return func(p images.Progress) {
		unit := p.Unit
		if unit == "steps" {
			unit = p.Step
		}
		r.Progress(p.Done, p.Total, unit)
	}
}
