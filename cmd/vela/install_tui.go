package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/installer/preflight"
	"github.com/vela-appliance/vela/installer/run"
	"github.com/vela-appliance/vela/tui"
	"github.com/vela-appliance/vela/tui/discovery"
	"github.com/vela-appliance/vela/tui/progress"
	"github.com/vela-appliance/vela/tui/wizard"
)

// interactiveInstall runs the wizard (full screen, or line by line with
// --accessible, TERM=dumb or on a serial console), saves the YAML and sets
// --config to its path; the caller then installs from that file as usual.
// With no terminal it refuses.
func interactiveInstall(cmd *cobra.Command, f installFlags) error {
	in, inOK := cmd.InOrStdin().(*os.File)
	out, outOK := cmd.OutOrStdout().(*os.File)
	if !inOK || !outOK || !tui.IsTerminal(in) || !tui.IsTerminal(out) {
		return exitError{code: 1, msg: "no install config and no terminal for the interactive installer: use --config FILE (see `vela config example`)"}
	}
	accessible, _ := cmd.Flags().GetBool("accessible")
	plain := os.Getenv("NO_COLOR") != ""
	wcfg := wizard.Config{
		Host: wizard.System{},
		Preflight: func(c *config.Config) []preflight.Result {
			return preflight.Run(c, preflight.Options{StateDir: f.stateDir, ImageDir: f.imageDir, BaseDir: "."}, preflight.System{})
		},
		Discover: func(ctx context.Context, c *config.Config) (wizard.Discoverer, error) {
			return discovery.Start(ctx, discovery.Config{Install: c})
		},
		Check: func(b []byte) config.Diagnostics {
			_, _, diags := loadConfigBytes("review", b)
			return diags
		},
		Styles: tui.NewStyles(tui.NewRenderer(out, plain)),
		Plain:  plain,
	}
	var (
		path string
		err  error
	)
	if accessible || tui.NeedsAccessible(out, os.Getenv) {
		path, err = wizard.RunAccessible(cmd.Context(), wcfg, in, out)
	} else {
		path, err = wizard.Run(cmd.Context(), wcfg, in, out)
	}
	if errors.Is(err, wizard.ErrAborted) {
		return exitError{code: 1, msg: "left the interactive installer; nothing was saved or changed"}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "saved the install config to %s (reuse it: vela install --config %s)\n", path, path)
	return cmd.Flags().Set("config", path)
}

// progressEmitter starts the live progress view when stdout is a terminal
// that can draw it. It replaces the command's context with one the view
// cancels when the operator confirms stopping, so call it before the runner
// takes cmd.Context(). wait closes the view after the run. ok is false (and
// nothing is started) when plain lines should be printed instead.
func progressEmitter(cmd *cobra.Command) (emit func(run.Event), wait func(), ok bool) {
	out, isFile := cmd.OutOrStdout().(*os.File)
	if !isFile || !tui.IsTerminal(out) || tui.NeedsAccessible(out, os.Getenv) {
		return nil, nil, false
	}
	parent := cmd.Context()
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	cmd.SetContext(ctx)
	pc := progress.Config{Out: out, Plain: os.Getenv("NO_COLOR") != "", Cancel: cancel}
	if in, ok := cmd.InOrStdin().(*os.File); ok && tui.IsTerminal(in) {
		pc.In = in
	}
	v := progress.Start(pc)
	return v.Emit, func() { _, _ = v.Wait() }, true
}
