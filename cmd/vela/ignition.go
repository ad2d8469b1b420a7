package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/ignition"
	"github.com/vela-appliance/vela/installer/config"
)

func newIgnitionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ignition",
		Short: "Render the Ignition configs machines boot with",
		Long: `Render each machine's Ignition config from Vela's Butane templates and the
operator's Butane snippets, validated with Ignition's own validator.`,
		Example: `  vela ignition render --config rack.yaml --ca-file ca.pem --machine node1
  vela ignition render --config rack.yaml --ca-file ca.pem --all --out /var/lib/vela/ignition`,
	}
	cmd.AddCommand(newIgnitionRenderCmd())
	return cmd
}

type ignitionRenderFlags struct {
	config, machine, out, bootURL, velaBinary, caFile, tokensFile string
	all, showSecrets                                              bool
}

func newIgnitionRenderCmd() *cobra.Command {
	var f ignitionRenderFlags
	cmd := &cobra.Command{
		Use:   "render --config FILE --ca-file PEM (--machine NAME | --all --out DIR)",
		Short: "Render one machine's Ignition config, or every machine's into a directory",
		Long: `Render Ignition configs (spec 3.5.0) from an install config.

With --machine and no --out, the config is printed as indented JSON with the
join token replaced by "data:,REDACTED"; --show-secrets prints it whole.
With --out DIR the servable configs are written as DIR/<machine>.ign, mode
0600, secrets included (that directory is what ` + "`vela pxe serve --ignition-dir`" + `
serves); --all renders every machine, and nothing is written unless all render.

Join tokens come from --tokens-file (lines "MACHINE TOKEN", and "MACHINE/agent TOKEN" for
the agent of a machine that is both member and hypervisor); without it a fresh
random token is made per machine and, with --out, saved in DIR/join-tokens (0600).
The vela binary's sha512 is taken from --vela-binary (default: this binary).`,
		Example: `  vela ignition render --config rack.yaml --ca-file ca.pem --machine node1
  vela ignition render --config rack.yaml --ca-file ca.pem --machine node1 --show-secrets | jq .storage.files
  vela ignition render --config rack.yaml --ca-file ca.pem --all --out ./ign --tokens-file tokens`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runIgnitionRender(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "install config file (required)")
	fl.StringVar(&f.machine, "machine", "", "name of the machine to render")
	fl.BoolVar(&f.all, "all", false, "render every machine (needs --out)")
	fl.StringVar(&f.out, "out", "", "write DIR/<machine>.ign (0600) instead of printing")
	fl.BoolVar(&f.showSecrets, "show-secrets", false, "print the join token instead of REDACTED")
	fl.StringVar(&f.caFile, "ca-file", "", "cluster CA certificate, PEM (required; never the key)")
	fl.StringVar(&f.bootURL, "boot-url", "", "boot server URL the machines fetch vela from (default http://SEED:HTTP-PORT from the config)")
	fl.StringVar(&f.velaBinary, "vela-binary", "", "the vela binary the boot server serves, for its sha512 (default: this binary)")
	fl.StringVar(&f.tokensFile, "tokens-file", "", `join tokens, one "MACHINE TOKEN" per line (default: generate)`)
	_ = cmd.MarkFlagRequired("config")
	_ = cmd.MarkFlagRequired("ca-file")
	return cmd
}

func runIgnitionRender(cmd *cobra.Command, f ignitionRenderFlags) error {
	if f.all == (f.machine != "") {
		return errors.New("give exactly one of --machine NAME or --all")
	}
	if f.all && f.out == "" {
		return errors.New("--all writes files: give --out DIR")
	}
	cfg, _, diags := loadConfig(cmd, f.config)
	baseDir := configDir(f.config)
	if diags.HasErrors() {
		printDiags(cmd.ErrOrStderr(), diags)
		return exitError{code: 1, msg: fmt.Sprintf("%s: %d error(s); nothing was rendered", f.config, len(diags.Errors()))}
	}
	printDiags(cmd.ErrOrStderr(), diags)
	in, err := ignitionInput(f, cfg, baseDir)
	if err != nil {
		return err
	}
	tokens, generated, err := joinTokens(f.tokensFile, in)
	if err != nil {
		return err
	}
	if f.all {
		if err := ignition.RenderAll(f.out, in, tokens); err != nil {
			return err
		}
		return saveTokens(cmd, f.out, tokens, generated)
	}
	in.Machine, in.JoinToken, in.AgentToken = f.machine, tokens[f.machine], tokens[ignition.AgentTokenKey(f.machine)]
	out, err := ignition.Render(in)
	if err != nil {
		return err
	}
	if f.out != "" {
		if err := ignition.WriteFile(f.out, f.machine, out); err != nil {
			return err
		}
		mine := map[string]string{f.machine: in.JoinToken}
		if in.AgentToken != "" {
			mine[ignition.AgentTokenKey(f.machine)] = in.AgentToken
		}
		return saveTokens(cmd, f.out, mine, generated)
	}
	if !f.showSecrets {
		if out, err = ignition.Redact(out); err != nil {
			return err
		}
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, out, "", "  "); err != nil {
		return err
	}
	pretty.WriteByte('\n')
	_, err = cmd.OutOrStdout().Write(pretty.Bytes())
	return err
}

func ignitionInput(f ignitionRenderFlags, cfg *config.Config, baseDir string) (ignition.Input, error) {
	ca, err := os.ReadFile(f.caFile)
	if err != nil {
		return ignition.Input{}, fmt.Errorf("reading the CA certificate: %v", err)
	}
	bin := f.velaBinary
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return ignition.Input{}, fmt.Errorf("finding this vela binary: %v; pass --vela-binary", err)
		}
	}
	hash, err := ignition.HashFile(bin)
	if err != nil {
		return ignition.Input{}, err
	}
	boot := f.bootURL
	if boot == "" {
		if boot, err = ignition.DefaultBootURL(cfg); err != nil {
			return ignition.Input{}, err
		}
	}
	return ignition.Input{Config: cfg, BaseDir: baseDir, BootURL: boot, VelaSHA512: hash, CACert: ca}, nil
}

// joinTokens reads the tokens file, or makes a token for every machine.
func joinTokens(path string, in ignition.Input) (map[string]string, bool, error) {
	if path != "" {
		t, err := ignition.ReadTokens(path)
		return t, false, err
	}
	tokens := map[string]string{}
	for _, m := range in.Config.Machines {
		t, err := ignition.NewToken()
		if err != nil {
			return nil, false, err
		}
		tokens[m.Name] = t
		if m.IsMember() && m.IsHypervisor() {
			if tokens[ignition.AgentTokenKey(m.Name)], err = ignition.NewToken(); err != nil {
				return nil, false, err
			}
		}
	}
	return tokens, true, nil
}

func saveTokens(cmd *cobra.Command, dir string, tokens map[string]string, generated bool) error {
	if !generated {
		return nil
	}
	if err := ignition.WriteTokens(dir, tokens); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "generated join tokens saved in %s\n", filepath.Join(dir, ignition.TokensFile))
	return nil
}
