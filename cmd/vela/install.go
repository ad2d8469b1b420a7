package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/installer/plan"
	"github.com/vela-appliance/vela/installer/preflight"
	"github.com/vela-appliance/vela/installer/run"
	"github.com/vela-appliance/vela/installer/steps"
)

type installFlags struct {
	config, output, stateDir, imageDir string
	dryRun, skipChecks, reset          bool
	accessible                         bool
	until                              string
}

func newInstallCmd() *cobra.Command {
	var f installFlags
	cmd := &cobra.Command{
		Use:   "install [--config FILE]",
		Short: "Install the appliance described by an install config (resumable)",
		Long: `Install the appliance described by an install config: check the file, check this
host (preflight), print the plan, then execute it step by step.

Progress is saved in the state dir after every step. If the install stops
(a failure, Ctrl-C, a power cut, kill -9), run the same command again: it
resumes at the step that did not finish, and steps already done are not
done again. --dry-run prints the plan and touches nothing.

Without --config, on a terminal, an interactive installer asks the questions
(full screen, or line by line with --accessible, on TERM=dumb or a serial
console), saves the answers as a config file and installs from it; the live
progress view is shown on a terminal, one text line per event otherwise.`,
		Example: `  vela install --config rack.yaml --dry-run
  vela install --config rack.yaml
  vela install --config rack.yaml --output json | jq .
  vela install --config rack.yaml --until machine-boot   # stop once every machine booted
  vela install --config examples/lab.yaml   # the whole appliance in VMs on this host
  vela install                              # the interactive installer`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runInstall(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.config, "config", "c", "", "install config file (\"-\" reads standard input)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan and exit without touching anything")
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text (one line per event) or json (one JSON object per line)")
	fl.StringVar(&f.stateDir, "state-dir", "/var/lib/vela/install", "where progress, secrets and rendered configs are kept")
	fl.StringVar(&f.imageDir, "image-dir", "/var/lib/vela/images", "where boot artifacts are stored")
	fl.BoolVar(&f.skipChecks, "skip-checks", false, "do not stop on failed preflight checks (they are still printed)")
	fl.BoolVar(&f.reset, "reset", false, "start over: a new cluster (new CA, tokens, configs); the earlier install's files move to STATE/previous/")
	fl.StringVar(&f.until, "until", "", "stop after this step ID or kind (a staged install; rerun without it to finish)")
	fl.BoolVar(&f.accessible, "accessible", false, "interactive installer: ask line by line instead of drawing full screen")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runInstall(cmd *cobra.Command, f installFlags) error {
	if f.output != "text" && f.output != "json" {
		return exitError{code: 1, msg: fmt.Sprintf("--output %q: use text or json", f.output)}
	}
	if f.config == "" {
		if err := interactiveInstall(cmd, f); err != nil {
			return err
		}
		f.config, _ = cmd.Flags().GetString("config")
	}
	cfg, _, diags := loadConfig(cmd, f.config)
	printDiags(cmd.ErrOrStderr(), diags)
	if diags.HasErrors() {
		return exitError{code: 1, msg: fmt.Sprintf("%s: %d error(s); nothing was changed. `vela config validate %s` checks the file alone", f.config, len(diags.Errors()), f.config)}
	}
	p := plan.Make(cfg)
	if f.until != "" {
		var err error
		if p, err = p.Until(f.until); err != nil {
			return exitError{code: 1, msg: err.Error()}
		}
	}
	out := cmd.OutOrStdout()
	if f.dryRun {
		if f.output == "json" {
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			return enc.Encode(p)
		}
		if err := plan.Print(out, p); err != nil {
			return err
		}
		fmt.Fprintln(out, "dry run: nothing was changed")
		return nil
	}

	baseDir := configDir(f.config)
	results := preflight.Run(cfg, preflight.Options{StateDir: f.stateDir, ImageDir: f.imageDir, BaseDir: baseDir}, preflight.System{})
	preflight.Print(cmd.ErrOrStderr(), results)
	if failed := preflight.Failed(results); len(failed) > 0 && !f.skipChecks {
		return exitError{code: 1, msg: fmt.Sprintf("%d preflight check(s) failed; nothing was changed. Fix them, or pass --skip-checks", len(failed))}
	}

	env := &steps.Env{Config: cfg, BaseDir: baseDir, StateDir: f.stateDir, ImageDir: f.imageDir}
	emit := run.TextLines(out)
	if f.output == "json" {
		emit = run.JSONLines(out)
	}
	// The runner emits through emit as it is when each event happens: the
	// live view below takes over from the text lines on a terminal.
	milestones := run.NewMilestones(p.Count(plan.MachineBoot), p.Count(plan.Join), p.Count(plan.Hypervisor))
	runner, err := run.New(run.Config{Plan: p, Executors: steps.Executors(env), StateDir: f.stateDir,
		Emit: func(ev run.Event) { milestones.Observe(ev); emit(ev) }})
	var missing *run.MissingExecutorsError
	if errors.As(err, &missing) {
		if f.output == "text" {
			plan.Print(out, p)
		}
		return exitError{code: 1, msg: err.Error() + "; nothing was changed"}
	}
	if err != nil {
		return err
	}
	if f.reset {
		moved, err := steps.StartOver(f.stateDir, true)
		if err != nil {
			return fmt.Errorf("--reset: %w", err)
		}
		if moved != "" {
			fmt.Fprintf(cmd.ErrOrStderr(), "--reset: the earlier install's progress, secrets and configs are kept in %s\n", moved)
		}
	}
	if f.output == "text" {
		// On a terminal the live view draws the events instead of lines.
		if view, wait, ok := progressEmitter(cmd); ok {
			defer wait()
			emit = view
		}
	}
	if err := runner.Run(cmd.Context()); err != nil {
		var se *run.StepError
		if errors.As(err, &se) {
			return exitError{code: 1} // the events already said what failed and what to do
		}
		return err
	}
	if f.output == "text" && len(milestones.List()) > 1 {
		fmt.Fprintln(out, "milestones (since the start of this run):")
		run.PrintMilestones(out, milestones.List())
	}
	return nil
}
