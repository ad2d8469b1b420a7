package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/member"
	"github.com/vela-appliance/vela/cluster/pki"
	"github.com/vela-appliance/vela/ignition"
	"github.com/vela-appliance/vela/installer/plan"
	"github.com/vela-appliance/vela/installer/run"
)

// JoinTokenTTL is how long the join tokens made at install stay valid: long
// enough for a slow rack to boot, short enough not to linger.
const JoinTokenTTL = 24 * time.Hour

// JoinRecordsFile holds the join tokens' records (hashes only) that the
// bootstrap member loads with --join-tokens.
const JoinRecordsFile = "join-tokens.json"

func (e *Env) secretsDir() string { return filepath.Join(e.StateDir, "secrets") }

// secrets makes the cluster CA and one join token per machine, once: a
// rerun reuses what an earlier run wrote, so configs rendered before a crash
// stay valid.
func (e *Env) secrets(ctx context.Context, _ plan.Step, r run.Reporter) error {
	dir := e.secretsDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if _, err := pki.LoadCA(dir); errors.Is(err, fs.ErrNotExist) {
		ca, err := pki.GenerateCA(e.Config.Name, e.now())
		if err != nil {
			return err
		}
		if err := ca.Save(dir); err != nil {
			return run.Failf("check free space and permissions in "+dir, "saving the cluster CA: %v", err)
		}
		r.Logf("cluster CA created in %s (its key stays on this host)", dir)
	} else if err != nil {
		return run.Failf("move "+dir+" away to make new secrets (then render every config again with --reset)", "%v", err)
	}

	tokens, err := ignition.ReadTokens(filepath.Join(dir, ignition.TokensFile))
	if err == nil && len(tokens) >= len(e.Config.Machines) {
		return nil
	}
	tokens = map[string]string{}
	var records []fsm.JoinToken
	for _, m := range e.Config.Machines {
		role := fsm.JoinAgent
		if m.IsMember() {
			role = fsm.JoinMember
		}
		tok, rec := member.NewJoinToken(role, e.now(), JoinTokenTTL)
		tokens[m.Name] = tok
		records = append(records, rec)
	}
	b, err := json.MarshalIndent(records, "", "  ")
	if err != nil {
		return err
	}
	// Records first: tokens without their records would be rejected.
	if err := run.WriteFileAtomic(filepath.Join(dir, JoinRecordsFile), b, 0o600); err != nil {
		return err
	}
	if err := ignition.WriteTokens(dir, tokens); err != nil {
		return fmt.Errorf("saving join tokens: %w", err)
	}
	r.Logf("%d single-use join tokens made, valid %s", len(tokens), JoinTokenTTL)
	return nil
}

// ignitionDir holds the rendered configs the boot services serve.
func (e *Env) ignitionDir() string { return filepath.Join(e.StateDir, "ignition") }

// renderIgnition renders one machine's config ahead of time (0600).
func (e *Env) renderIgnition(ctx context.Context, s plan.Step, r run.Reporter) error {
	dir := e.secretsDir()
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return err
	}
	tokens, err := ignition.ReadTokens(filepath.Join(dir, ignition.TokensFile))
	if err != nil {
		return err
	}
	boot, err := ignition.DefaultBootURL(e.Config)
	if err != nil {
		return err
	}
	hash, err := ignition.HashFile(e.velaBinary())
	if err != nil {
		return err
	}
	out, err := ignition.Render(ignition.Input{Config: e.Config, BaseDir: e.BaseDir, Machine: s.Machine,
		BootURL: boot, VelaSHA512: hash, CACert: caPEM, JoinToken: tokens[s.Machine]})
	if err != nil {
		return run.Failf("fix the install config (vela config validate) and run again", "%v", err)
	}
	return ignition.WriteFile(e.ignitionDir(), s.Machine, out)
}
