package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/libvirtimg"
	"github.com/vela-appliance/vela/images/store"
	"github.com/vela-appliance/vela/images/velaos"
)

type imagesFlags struct {
	store, cache, output string
}

func (f *imagesFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.store, "store", envOr(images.EnvStoreDir, images.DefaultStoreDir), "image store directory (env "+images.EnvStoreDir+")")
	cmd.PersistentFlags().StringVar(&f.cache, "cache", envOr(images.EnvCacheDir, images.DefaultCacheDir), "build cache: .deb files, the Ignition binary (env "+images.EnvCacheDir+")")
	cmd.PersistentFlags().StringVarP(&f.output, "output", "o", "text", "output: text (table), json; list also takes yaml")
}

func (f *imagesFlags) open() (*store.Store, error) {
	return store.New(store.Config{Dir: f.store, Logger: slog.Default()})
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func newImagesCmd() *cobra.Command {
	var f imagesFlags
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Build, import, list and verify boot artifacts and node images",
		Long: `Boot artifacts (kernel, initramfs, rootfs) of vela-os and Fedora CoreOS and the
node image every LXC node starts from live in the image store, one directory
per version with a manifest of sha256 sums. Builds are cached by recipe hash:
building an unchanged recipe again does nothing.`,
		Example: `  vela images build vela-os
  vela images list
  vela images verify
  vela images import fcos /media/usb/fcos`,
	}
	f.register(cmd)
	cmd.AddCommand(newImagesBuildCmd(&f), newImagesListCmd(&f), newImagesVerifyCmd(&f), newImagesImportCmd(&f))
	return cmd
}

type buildFlags struct {
	mirror, security, ignition, busybox string
	force                               bool
}

func newImagesBuildCmd(f *imagesFlags) *cobra.Command {
	var b buildFlags
	cmd := &cobra.Command{
		Use:   "build [vela-os|node|libvirtd|all]",
		Short: "Build vela-os and/or the node image from Debian packages (as root; cached by recipe)",
		Long: `Build from Debian packages with debootstrap (root required). vela-os gives the
kernel, initramfs (with the real Ignition, built from source with the Go
toolchain unless --ignition is given) and squashfs rootfs the boot server
serves; node gives the root filesystem directory every LXC node starts from;
libvirtd gives the container image (docker-archive, localhost/vela-libvirtd)
Fedora CoreOS hypervisors load with podman (all does not include it).
A build whose recipe is already in the store (and verifies) does nothing;
--force rebuilds. A failed or interrupted build leaves nothing in the store.`,
		Example: `  sudo vela images build            # vela-os and the node image
  sudo vela images build vela-os --mirror http://mirror.example/debian
  sudo vela images build node --store /srv/vela/images --cache /srv/vela/cache
  sudo vela images build libvirtd   # for Fedora CoreOS hypervisors`,
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{images.VelaOS, images.Node, libvirtimg.Image, "all"},
		RunE: func(cmd *cobra.Command, args []string) error {
			what := "all"
			if len(args) == 1 {
				what = args[0]
			}
			return runImagesBuild(cmd, f, b, what)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&b.mirror, "mirror", "", "Debian mirror (default "+velaos.DefaultRecipe().Mirror+")")
	fl.StringVar(&b.security, "security-mirror", "", "Debian security mirror (default "+velaos.DefaultRecipe().SecurityMirror+"; \"none\" skips it)")
	fl.StringVar(&b.ignition, "ignition", "", "use this Ignition binary instead of building it")
	fl.StringVar(&b.busybox, "busybox", "/bin/busybox", "static busybox for the initramfs (Debian's busybox-static)")
	fl.BoolVar(&b.force, "force", false, "rebuild even when the recipe is already built")
	return cmd
}

func runImagesBuild(cmd *cobra.Command, f *imagesFlags, b buildFlags, what string) error {
	if what != images.VelaOS && what != images.Node && what != libvirtimg.Image && what != "all" {
		return exitError{code: 1, msg: fmt.Sprintf("vela images build %q: build vela-os, node, libvirtd or all", what)}
	}
	if os.Geteuid() != 0 {
		return exitError{code: 1, msg: "vela images build needs root (debootstrap, chroot, mounts); run it with sudo"}
	}
	st, err := f.open()
	if err != nil {
		return err
	}
	pr := newProgressPrinter(cmd.ErrOrStderr(), f.output)
	var results []buildResult
	if what == images.VelaOS || what == "all" {
		r := velaos.DefaultRecipe()
		b.applyMirrors(&r.Mirror, &r.SecurityMirror)
		res, err := velaos.New(velaos.Config{Store: st, CacheDir: f.cache, Recipe: r, Busybox: b.busybox,
			IgnitionBinary: b.ignition, Force: b.force, Logger: slog.Default(), Progress: pr.report}).Build(cmd.Context())
		if err != nil {
			return err
		}
		results = append(results, buildResult{res.Manifest, res.Cached, res.Took.Seconds()})
	}
	if what == images.Node || what == "all" {
		res, err := buildNode(cmd, f, b, st, pr)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	if what == libvirtimg.Image {
		res, err := buildLibvirtd(cmd, f, b, st, pr)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	return printBuildResults(cmd.OutOrStdout(), f.output, st, results)
}

// applyMirrors overrides a recipe's Debian mirrors with the flags given.
func (b buildFlags) applyMirrors(mirror, security *string) {
	if b.mirror != "" {
		*mirror = b.mirror
	}
	switch b.security {
	case "":
	case "none":
		*security = ""
	default:
		*security = b.security
	}
}

type buildResult struct {
	Manifest store.Manifest `json:"manifest"`
	Cached   bool           `json:"cached"`
	Seconds  float64        `json:"seconds"`
}

func printBuildResults(w io.Writer, output string, st *store.Store, rs []buildResult) error {
	if output == "json" {
		return json.NewEncoder(w).Encode(rs)
	}
	for _, r := range rs {
		state := "built"
		if r.Manifest.Image == images.FCOS {
			state = "imported"
		}
		if r.Cached {
			state = "already built (cached)"
		}
		fmt.Fprintf(w, "%s %s: %s in %.1fs, in %s\n", r.Manifest.Image, r.Manifest.Version, state, r.Seconds, st.VersionDir(r.Manifest.Image, r.Manifest.Version))
		for _, a := range r.Manifest.Artifacts {
			fmt.Fprintf(w, "  %-10s %10s  sha256 %s\n", a.Name, humanBytes(a.Size), a.SHA256)
		}
	}
	return nil
}

func newImagesListCmd(f *imagesFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the images in the store with their versions, sizes and sources",
		Example: "  vela images list\n  vela images list -o json | jq '.[].version'\n  vela images list -o yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := f.open()
			if err != nil {
				return err
			}
			all, err := st.List()
			if err != nil {
				return err
			}
			return printList(cmd.OutOrStdout(), f.output, all, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "IMAGE\tVERSION\tCURRENT\tSIZE\tCREATED\tSOURCE")
				for _, m := range all {
					cur, _ := st.Current(m.Image)
					var size int64
					for _, a := range m.Artifacts {
						size += a.Size
					}
					mark := ""
					if cur == m.Version {
						mark = "*"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Image, m.Version, mark, humanBytes(size), m.Created.Format("2006-01-02 15:04"), m.Source)
				}
			})
		},
	}
}

func newImagesVerifyCmd(f *imagesFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "verify [IMAGE [VERSION]]",
		Short: "Recheck the sha256 of every artifact in the store (exit 1 naming each bad file)",
		Example: `  vela images verify
  vela images verify vela-os
  vela images verify fcos 41.20250315.3.0`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := f.open()
			if err != nil {
				return err
			}
			var n int
			if len(args) == 0 {
				var all []store.Manifest
				all, err = st.VerifyAll(cmd.Context(), nil)
				n = len(all)
			} else {
				version := ""
				if len(args) == 2 {
					version = args[1]
				}
				err, n = st.Verify(cmd.Context(), args[0], version, nil), 1
			}
			if err != nil {
				return exitError{code: 1, msg: err.Error()}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d image version(s) verified: every sha256 matches\n", n)
			return nil
		},
	}
}

// progressPrinter prints progress as lines, only when a step starts, ends
// or moves by 10%.
type progressPrinter struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
	last map[string]int64
}

func newProgressPrinter(w io.Writer, output string) *progressPrinter {
	return &progressPrinter{w: w, json: output == "json", last: map[string]int64{}}
}

func (p *progressPrinter) report(pr images.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := pr.Image + "/" + pr.Step
	pct := int64(pr.Percent())
	if prev, ok := p.last[key]; ok && pct/10 == prev/10 && pct != 100 {
		return
	}
	if prev, ok := p.last[key]; ok && prev == pct {
		return
	}
	p.last[key] = pct
	if p.json {
		_ = json.NewEncoder(p.w).Encode(map[string]any{"event": "progress", "image": pr.Image, "step": pr.Step,
			"done": pr.Done, "total": pr.Total, "unit": pr.Unit, "percent": pct})
		return
	}
	if pr.Unit == "bytes" {
		fmt.Fprintf(p.w, "%s: %s %3d%% (%s of %s)\n", pr.Image, pr.Step, pct, humanBytes(pr.Done), humanBytes(pr.Total))
		return
	}
	fmt.Fprintf(p.w, "%s: %s %3d%%\n", pr.Image, pr.Step, pct)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
