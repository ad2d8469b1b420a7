package steps

import (
	"context"
	"strings"
	"time"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/libvirtimg"
	"github.com/vela-appliance/vela/images/nodeimage"
	"github.com/vela-appliance/vela/images/store"
	"github.com/vela-appliance/vela/images/velaos"
	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/installer/plan"
	"github.com/vela-appliance/vela/installer/run"
)

// prepareImages makes sure the boot artifacts of the configured OS are in
// the image store: vela-os is built (or found by its recipe hash, a no-op),
// Fedora CoreOS must have been imported, a custom image is served from the
// paths in the config (preflight checked they exist). With hypervisors in
// the config, the node image is built (or found) and packed for them too,
// and with Fedora CoreOS also the libvirtd container image they load.
func (e *Env) prepareImages(ctx context.Context, _ plan.Step, r run.Reporter) error {
	st, err := store.New(store.Config{Dir: e.ImageDir, Logger: e.logger()})
	if err != nil {
		return err
	}
	switch e.Config.OS.Image {
	case config.ImageCustom:
		r.Logf("custom image: serving %s and %s from the config's paths", e.Config.OS.Kernel, e.Config.OS.Initramfs)
	case config.ImageFCOS:
		if err := st.Verify(ctx, images.FCOS, "current", progress(r)); err != nil {
			return run.Failf("bring the Fedora CoreOS PXE artifacts and run `vela images import fcos DIR`, then run again",
				"Fedora CoreOS is not in the image store %s: %v", e.ImageDir, err)
		}
	default:
		res, err := velaos.New(velaos.Config{Store: st, CacheDir: e.imageCache(), Recipe: velaos.DefaultRecipe(),
			Logger: e.logger(), Progress: progress(r)}).Build(ctx)
		if err != nil {
			return run.Failf("see the error above; a rerun resumes the build from its cache", "building vela-os: %v", err)
		}
		logBuild(r, "vela-os", res.Manifest.Version, res.Cached, res.Took)
	}
	if len(e.Config.Hypervisors()) == 0 {
		return nil
	}
	res, err := nodeimage.New(nodeimage.Config{Store: st, CacheDir: e.imageCache(), Recipe: nodeimage.DefaultRecipe(),
		Logger: e.logger(), Progress: progress(r)}).Build(ctx)
	if err != nil {
		return run.Failf("see the error above; a rerun resumes the build from its cache", "building the node image: %v", err)
	}
	logBuild(r, "node image", res.Manifest.Version, res.Cached, res.Took)
	packed, _, err := nodeimage.Pack(ctx, st, e.logger())
	if err != nil {
		return run.Failf("see the error above, then run again", "%v", err)
	}
	r.Logf("node image packed for the hypervisors: %s", packed)
	if e.Config.OS.Image == config.ImageFCOS {
		// Fedora CoreOS hypervisors run libvirtd from this container image.
		res, err := libvirtimg.New(libvirtimg.Config{Store: st, CacheDir: e.imageCache(), Recipe: libvirtimg.DefaultRecipe(),
			Logger: e.logger(), Progress: progress(r)}).Build(ctx)
		if err != nil {
			return run.Failf("see the error above; a rerun resumes the build from its cache", "building the libvirtd container image: %v", err)
		}
		logBuild(r, "libvirtd container image", res.Manifest.Version, res.Cached, res.Took)
	}
	return nil
}

// nodeImageSHA512 is the packed node image's hash, "" without hypervisors.
func (e *Env) nodeImageSHA512(ctx context.Context) (string, error) {
	if len(e.Config.Hypervisors()) == 0 {
		return "", nil
	}
	st, err := store.New(store.Config{Dir: e.ImageDir, Logger: e.logger()})
	if err != nil {
		return "", err
	}
	_, sum, err := nodeimage.Pack(ctx, st, e.logger())
	return strings.TrimSpace(sum), err
}

func (e *Env) imageCache() string {
	if e.ImageCache != "" {
		return e.ImageCache
	}
	return images.DefaultCacheDir
}

func logBuild(r run.Reporter, what, version string, cached bool, took time.Duration) {
	if cached {
		r.Logf("%s %s found in the store (recipe unchanged)", what, version)
		return
	}
	r.Logf("%s %s built in %s", what, version, took.Round(time.Second))
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
