package steps

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/installer/plan"
	"github.com/vela-appliance/vela/installer/run"
)

// ControlPlaneTimeout bounds the wait for a member to bootstrap or join
// after it has booted: its unit fetches the vela binary, starts, and (for a
// joiner) reaches the first member; minutes under TCG, seconds on metal.
const ControlPlaneTimeout = 10 * time.Minute

// pollEvery is how often the installer asks the control plane while waiting.
const pollEvery = 2 * time.Second

// APIURL is the control plane API of the config's first member, which the
// installer talks to: https://ADDR:PORT.
func (e *Env) APIURL() (string, error) {
	ms := e.Config.Members()
	if len(ms) == 0 || !ms[0].Static() {
		return "", errors.New("the first member has no static address; run `vela config validate`")
	}
	return "https://" + net.JoinHostPort(ms[0].Address, strconv.Itoa(e.Config.ControlPlane.APIPort)), nil
}

// apiClient is an admin client of the control plane, with the installer's
// own admin token and the cluster CA.
func (e *Env) apiClient() (*client.Client, error) {
	url, err := e.APIURL()
	if err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(filepath.Join(e.secretsDir(), "ca.pem"))
	if err != nil {
		return nil, err
	}
	tok, err := os.ReadFile(filepath.Join(e.secretsDir(), AdminTokenFile))
	if err != nil {
		return nil, err
	}
	return client.New(client.Config{Server: url, CAPEM: ca, Token: strings.TrimSpace(string(tok)), Timeout: 10 * time.Second})
}

// bootstrap waits until the first member leads a cluster that accepts the
// installer's admin token.
func (e *Env) bootstrap(ctx context.Context, s plan.Step, r run.Reporter) error {
	return e.waitMembers(ctx, s, r, "bootstrap the control plane", func(ms []api.MemberStatus) bool {
		for _, m := range ms {
			if m.ID == s.Machine && m.Leader {
				return true
			}
		}
		return false
	})
}

// join waits until the member is a voter (or a non-voter past five voters)
// with a known leader.
func (e *Env) join(ctx context.Context, s plan.Step, r run.Reporter) error {
	return e.waitMembers(ctx, s, r, "join the control plane", func(ms []api.MemberStatus) bool {
		leader := false
		mine := false
		for _, m := range ms {
			leader = leader || m.Leader
			mine = mine || (m.ID == s.Machine && (m.Role == "voter" || m.Role == "nonvoter") && m.Error == "")
		}
		return leader && mine
	})
}

// waitMembers polls `GET /v1/members` until done says so, reporting what
// it sees when it changes.
func (e *Env) waitMembers(ctx context.Context, s plan.Step, r run.Reporter, what string, done func([]api.MemberStatus) bool) error {
	c, err := e.apiClient()
	if err != nil {
		return run.Failf("run again with --reset to make new secrets", "%s: %v", s.Machine, err)
	}
	deadline := time.Now().Add(ControlPlaneTimeout)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var last string
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		ms, err := c.Members(cctx)
		cancel()
		seen := describeMembers(ms, err)
		if err == nil && done(ms) {
			r.Logf("%s: %s", s.Machine, seen)
			return nil
		}
		if seen != last {
			r.Logf("waiting for %s to %s: %s", s.Machine, what, seen)
			last = seen
		}
		if time.Now().After(deadline) {
			return run.Failf(e.memberHint(s.Machine), "%s did not %s within %s; the control plane said: %s", s.Machine, what, ControlPlaneTimeout, seen)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// describeMembers says in one line what the member list shows.
func describeMembers(ms []api.MemberStatus, err error) string {
	if err != nil {
		return "no answer (" + err.Error() + ")"
	}
	var parts []string
	for _, m := range ms {
		p := m.ID + " " + m.Role
		if m.Leader {
			p += " (leader)"
		}
		if m.Error != "" {
			p += " [" + m.Error + "]"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "no members"
	}
	return strings.Join(parts, ", ")
}

func (e *Env) memberHint(machine string) string {
	h := fmt.Sprintf("on %s, read `journalctl -u vela-server` (ssh core@ADDRESS)", machine)
	if e.Config.Lab != nil {
		h += fmt.Sprintf(" or the VM's console log %s", filepath.Join(e.StateDir, "lab", "vms", machine, "console.log"))
	}
	return h + ", fix the cause, then run again"
}
