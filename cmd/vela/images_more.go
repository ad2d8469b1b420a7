package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/fcos"
	"github.com/vela-appliance/vela/images/libvirtimg"
	"github.com/vela-appliance/vela/images/nodeimage"
	"github.com/vela-appliance/vela/images/store"
)

func buildNode(cmd *cobra.Command, f *imagesFlags, b buildFlags, st *store.Store, pr *progressPrinter) (buildResult, error) {
	r := nodeimage.DefaultRecipe()
	b.applyMirrors(&r.Mirror, &r.SecurityMirror)
	res, err := nodeimage.New(nodeimage.Config{Store: st, CacheDir: f.cache, Recipe: r, Force: b.force,
		Logger: slog.Default(), Progress: pr.report}).Build(cmd.Context())
	return buildResult{res.Manifest, res.Cached, res.Took.Seconds()}, err
}

func buildLibvirtd(cmd *cobra.Command, f *imagesFlags, b buildFlags, st *store.Store, pr *progressPrinter) (buildResult, error) {
	r := libvirtimg.DefaultRecipe()
	b.applyMirrors(&r.Mirror, &r.SecurityMirror)
	res, err := libvirtimg.New(libvirtimg.Config{Store: st, CacheDir: f.cache, Recipe: r, Force: b.force,
		Logger: slog.Default(), Progress: pr.report}).Build(cmd.Context())
	return buildResult{res.Manifest, res.Cached, res.Took.Seconds()}, err
}

func newImagesImportCmd(f *imagesFlags) *cobra.Command {
	var streamFile, streamURL, arch string
	cmd := &cobra.Command{
		Use:   "import fcos [DIR]",
		Short: "Import Fedora CoreOS PXE artifacts from a directory, or download them (checked against the stream's sha256)",
		Long: `Import the Fedora CoreOS metal PXE artifacts (kernel, initramfs, rootfs) into the
image store. Offline: DIR holds the three files, named as in the stream's URLs,
and the stream metadata (DIR/stream.json or --stream FILE). Online:
--stream-url downloads the metadata and the files, resuming partial downloads
left by an interrupted run. Every file must match the stream's sha256 or
nothing is imported.`,
		Example: `  vela images import fcos /media/usb/fcos
  vela images import fcos /media/usb/fcos --stream /media/usb/stable.json
  vela images import fcos --stream-url https://builds.coreos.fedoraproject.org/streams/stable.json`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != images.FCOS {
				return exitError{code: 1, msg: fmt.Sprintf("vela images import %q: only fcos can be imported", args[0])}
			}
			if (len(args) == 2) == (streamURL != "") {
				return exitError{code: 1, msg: "vela images import fcos: give either DIR or --stream-url"}
			}
			st, err := f.open()
			if err != nil {
				return err
			}
			pr := newProgressPrinter(cmd.ErrOrStderr(), f.output)
			im := fcos.New(fcos.Config{Store: st, Arch: arch, Logger: slog.Default(), Progress: pr.report})
			start := time.Now()
			var m store.Manifest
			if streamURL != "" {
				m, err = im.Download(cmd.Context(), nil, streamURL, filepath.Join(f.cache, "downloads"))
			} else {
				m, err = im.ImportDir(cmd.Context(), args[1], streamFile)
			}
			if err != nil {
				return exitError{code: 1, msg: err.Error()}
			}
			return printBuildResults(cmd.OutOrStdout(), f.output, st, []buildResult{{m, false, time.Since(start).Seconds()}})
		},
	}
	cmd.Flags().StringVar(&streamFile, "stream", "", "stream metadata file (default DIR/stream.json)")
	cmd.Flags().StringVar(&streamURL, "stream-url", "", "download from this stream metadata URL instead of importing a directory")
	cmd.Flags().StringVar(&arch, "arch", "x86_64", "architecture in the stream metadata")
	return cmd
}
