package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/ignition"
	"github.com/vela-appliance/vela/installer/config"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Write, check and describe install configs",
		Example: `  vela config example > rack.yaml
  vela config validate rack.yaml
  vela config example --lab | vela config validate -`,
	}
	cmd.AddCommand(newConfigExampleCmd(), newConfigValidateCmd(), newConfigSchemaCmd())
	return cmd
}

func newConfigExampleCmd() *cobra.Command {
	var lab bool
	cmd := &cobra.Command{
		Use:   "example",
		Short: "Print a fully commented install config that validates",
		Example: `  vela config example > rack.yaml
  vela config example --lab > lab.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(config.Example(lab))
			return err
		},
	}
	cmd.Flags().BoolVar(&lab, "lab", false, "print the built-in lab default (qemu VMs on a private bridge)")
	return cmd
}

func newConfigValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check an install config and print every problem with its line (exit 1 on errors)",
		Long: `Check an install config: YAML syntax, unknown keys, types, every field and the
rules across fields (duplicate MACs, addresses outside the subnet, member count...).
Every problem is printed as FILE:LINE:COL: field: what is wrong; what to do.
Warnings do not fail the check. FILE "-" reads standard input.`,
		Example: `  vela config validate rack.yaml
  vela config example --lab | vela config validate -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, _, diags := loadConfig(cmd, args[0])
			printDiags(cmd.ErrOrStderr(), diags)
			if diags.HasErrors() {
				return exitError{code: 1, msg: fmt.Sprintf("%s: %d error(s); nothing was changed", args[0], len(diags.Errors()))}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (%d warning(s))\n", args[0], len(diags.Warnings()))
			return nil
		},
	}
}

func newConfigSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "schema",
		Short:   "Print the JSON Schema of the install config (for editors)",
		Example: `  vela config schema > vela-config.schema.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := config.JSONSchema()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
			return err
		},
	}
}

// loadConfig loads and validates an install config: the one entry point every
// command uses, so every command reports the same problems the same way.
// "-" reads the command's standard input. A config that validates is also
// checked for what only rendering finds (operator Butane snippets).
func loadConfig(cmd *cobra.Command, path string) (*config.Config, *config.Source, config.Diagnostics) {
	if path == "-" {
		data, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), config.MaxFileSize+1))
		if err != nil {
			return nil, nil, config.Diagnostics{{File: "<stdin>", Msg: "cannot read standard input: " + err.Error()}}
		}
		return loadConfigBytes("<stdin>", data)
	}
	cfg, src, diags := config.Load(path)
	return withRenderChecks(cfg, src, diags, configDir(path))
}

// loadConfigBytes validates YAML held in memory (standard input, the TUI's
// review screen) exactly as loadConfig validates a file.
func loadConfigBytes(name string, b []byte) (*config.Config, *config.Source, config.Diagnostics) {
	cfg, src, diags := config.Parse(name, b)
	return withRenderChecks(cfg, src, diags, ".")
}

func withRenderChecks(cfg *config.Config, src *config.Source, diags config.Diagnostics, baseDir string) (*config.Config, *config.Source, config.Diagnostics) {
	if cfg != nil && !diags.HasErrors() {
		diags = append(diags, ignition.Check(cfg, src, baseDir)...)
		diags.Sort()
	}
	return cfg, src, diags
}

// configDir is where relative paths of a config file start.
func configDir(path string) string {
	if path == "-" {
		return "."
	}
	return filepath.Dir(path)
}

func printDiags(w io.Writer, diags config.Diagnostics) {
	for _, d := range diags {
		fmt.Fprintln(w, d.Error())
	}
}
