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
	"github.com/vela-appliance/vela/pxe/serve"
)

// JoinTokenTTL is how long the join tokens made at install stay valid: long
// enough for a slow rack to boot, short enough not to linger.
const JoinTokenTTL = 24 * time.Hour

// Files in the secrets directory (STATE/secrets, 0700).
const (
	// JoinRecordsFile holds the join tokens' records (hashes only) that the
	// bootstrap member loads with --join-tokens.
	JoinRecordsFile = "join-tokens.json"
	// APIRecordsFile holds the installer's admin API token's record, which
	// the bootstrap member loads with --api-tokens.
	APIRecordsFile = "api-tokens.json"
	// AdminTokenFile is the installer's admin API token (the secret).
	AdminTokenFile = "admin-token"
)

func (e *Env) secretsDir() string { return filepath.Join(e.StateDir, "secrets") }

// secrets makes the cluster CA, one join token per machine and role (a
// machine that is both joins twice: member and agent), and the installer's
// admin API token, once: a rerun reuses what an earlier run wrote, so configs
// rendered before a crash stay valid.
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

	if err := e.stageCAKey(dir); err != nil {
		return err
	}
	if fileExists(filepath.Join(dir, AdminTokenFile)) && fileExists(filepath.Join(dir, ignition.TokensFile)) {
		return nil // an earlier run made them; configs rendered with them stay valid
	}
	tokens := map[string]string{}
	var records []fsm.JoinToken
	add := func(key, role string) {
		tok, rec := member.NewJoinToken(role, e.now(), JoinTokenTTL)
		tokens[key] = tok
		records = append(records, rec)
	}
	for _, m := range e.Config.Machines {
		switch {
		case m.IsMember() && m.IsHypervisor():
			add(m.Name, fsm.JoinMember)
			add(ignition.AgentTokenKey(m.Name), fsm.JoinAgent)
		case m.IsMember():
			add(m.Name, fsm.JoinMember)
		default:
			add(m.Name, fsm.JoinAgent)
		}
	}
	admin, adminRec := member.NewAPIToken("installer", fsm.ScopeAdmin, e.now())
	jb, err := json.MarshalIndent(records, "", "  ")
	if err != nil {
		return err
	}
	ab, err := json.MarshalIndent([]fsm.APIToken{adminRec}, "", "  ")
	if err != nil {
		return err
	}
	// Records first: tokens without their records would be rejected.
	if err := run.WriteFileAtomic(filepath.Join(dir, JoinRecordsFile), jb, 0o600); err != nil {
		return err
	}
	if err := run.WriteFileAtomic(filepath.Join(dir, APIRecordsFile), ab, 0o600); err != nil {
		return err
	}
	if err := ignition.WriteTokens(dir, tokens); err != nil {
		return fmt.Errorf("saving join tokens: %w", err)
	}
	if err := run.WriteFileAtomic(filepath.Join(dir, AdminTokenFile), []byte(admin+"\n"), 0o600); err != nil {
		return err
	}
	r.Logf("%d single-use join tokens made, valid %s; the installer's admin API token is in %s", len(tokens), JoinTokenTTL, filepath.Join(dir, AdminTokenFile))
	return nil
}

// bootSecretsDir holds the one-time secrets the boot server hands over:
// BOOT-SECRETS/<machine>/<name>, each served once, then removed.
func (e *Env) bootSecretsDir() string { return filepath.Join(e.StateDir, "boot-secrets") }

// stageCAKey puts a copy of the CA key where the boot server hands it, once,
// to the bootstrap member (design §7). Once handed over, a marker stays and
// it is not staged again.
func (e *Env) stageCAKey(secrets string) error {
	first := e.Config.Members()
	if len(first) == 0 {
		return nil
	}
	dir := filepath.Join(e.bootSecretsDir(), first[0].Name)
	key := filepath.Join(dir, ignition.CAKeySecret)
	if fileExists(key) || fileExists(key+".sent") {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(secrets, "ca-key.pem"))
	if err != nil {
		return run.Failf("run again with --reset to make new secrets", "the cluster CA key is gone from %s: %v", secrets, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return run.WriteFileAtomic(key, b, 0o600)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
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
	in := ignition.Input{Config: e.Config, BaseDir: e.BaseDir, Machine: s.Machine,
		BootURL: boot, VelaSHA512: hash, CACert: caPEM, JoinToken: tokens[s.Machine], AgentToken: tokens[ignition.AgentTokenKey(s.Machine)]}
	// Hypervisors run nodes from it; members that serve day-2 boot keep a
	// copy for the hypervisors they will boot.
	if m, ok := e.Config.Machine(s.Machine); ok && (m.IsHypervisor() || (m.IsMember() && e.Config.Day2Boot())) {
		if in.NodeImageSHA512, err = e.nodeImageSHA512(ctx); err != nil {
			return run.Failf("run again: the images step packs the node image", "%v", err)
		}
	}
	if m, ok := e.Config.Machine(s.Machine); ok && m.IsMember() && e.Config.Day2Boot() {
		// Members serve network boot after the install: they fetch the
		// boot images from this seed, checked against these hashes.
		if in.BootImage, err = serve.BootImage(e.ImageDir, e.Config.OS.Image, ""); err != nil {
			return run.Failf("run again after the images step, or set pxe.day2: false to leave day-2 boot off", "%v", err)
		}
	}
	if ms := e.Config.Members(); len(ms) > 0 && ms[0].Name == s.Machine {
		in.Bootstrap = &ignition.BootstrapRecords{}
		if in.Bootstrap.JoinTokens, err = os.ReadFile(filepath.Join(dir, JoinRecordsFile)); err != nil {
			return err
		}
		if in.Bootstrap.APITokens, err = os.ReadFile(filepath.Join(dir, APIRecordsFile)); err != nil {
			return err
		}
	}
	out, err := ignition.Render(in)
	if err != nil {
		return run.Failf("fix the install config (vela config validate) and run again", "%v", err)
	}
	return ignition.WriteFile(e.ignitionDir(), s.Machine, out)
}
