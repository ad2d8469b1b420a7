package steps

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/installer/plan"
	"github.com/vela-appliance/vela/installer/run"
	"github.com/vela-appliance/vela/pxe/cpinventory"
)

// handover makes the control plane the owner of the appliance: every
// member of the config is in Raft, the install config (the machine
// inventory) is stored in it, the operator gets a vela context (so
// `vela members ls` works without flags), and the seed forgets the CA key,
// which now lives on the members only.
func (e *Env) handover(ctx context.Context, s plan.Step, r run.Reporter) error {
	c, err := e.apiClient()
	if err != nil {
		return run.Failf("run again with --reset to make new secrets", "%v", err)
	}
	ms, err := c.Members(ctx)
	if err != nil {
		return run.Failf(e.memberHint(e.Config.Members()[0].Name), "the control plane does not answer: %v", err)
	}
	have := map[string]bool{}
	for _, m := range ms {
		have[m.ID] = m.Error == ""
	}
	for _, m := range e.Config.Members() {
		if !have[m.Name] {
			return run.Failf(e.memberHint(m.Name), "member %s is not in the control plane (it said: %s)", m.Name, describeMembers(ms, nil))
		}
	}
	// The machine inventory: the members serve day-2 boots from it.
	y, err := cpinventory.PortableConfig(e.Config, e.BaseDir)
	if err != nil {
		return run.Failf("fix the install config (vela config validate), then run again", "%v", err)
	}
	if _, err := c.PutInstallConfig(ctx, y); err != nil {
		return run.Failf("check the control plane (vela members ls), then run again", "storing the install config in the control plane: %v", err)
	}
	r.Logf("the install config and its %d machines are in the control plane (vela machines ls)", len(e.Config.Machines))
	url, err := e.APIURL()
	if err != nil {
		return err
	}
	cx := client.Context{Server: url, CAFile: filepath.Join(e.secretsDir(), "ca.pem"), TokenFile: filepath.Join(e.secretsDir(), AdminTokenFile)}
	path := e.ContextPath
	if path == "" {
		path = client.ContextPath()
	}
	if path != "" {
		if err := client.WriteContext(path, cx); err != nil {
			return err
		}
		r.Logf("vela context written to %s: `vela members ls` now reaches %s", path, url)
	}
	key := filepath.Join(e.secretsDir(), "ca-key.pem")
	if err := os.Remove(key); err == nil {
		r.Logf("the cluster CA key is removed from this host: the %d members hold it", len(ms))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the seed's copy of the CA key %s: %w", key, err)
	}
	return nil
}
