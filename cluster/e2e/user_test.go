package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// user runs the built CLI as one person: an own HOME, so an own profile and
// own credentials bundles, as two tenants on two laptops would have.
type user struct {
	ctx  context.Context
	vela string
	env  []string
}

func newUser(ctx context.Context, vela, home string) user {
	return user{ctx: ctx, vela: vela, env: []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"PATH=" + os.Getenv("PATH"), "VELA=" + vela}}
}

// run runs `vela ARGS`, logging what it printed; it returns stdout and
// stderr apart (errors are printed on stderr).
func (u user) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.CommandContext(u.ctx, u.vela, args...)
	cmd.Env = u.env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	t.Logf("vela %s: %v\n%s%s", strings.Join(args, " "), err, o.String(), e.String())
	return o.String(), e.String(), err
}

// must runs `vela ARGS` and fails t unless it succeeds.
func (u user) must(t *testing.T, args ...string) string {
	t.Helper()
	out, _, err := u.run(t, args...)
	if err != nil {
		t.Fatalf("vela %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// dockerScript evaluates the cluster's `vela env` lines, as the tenant
// guide says, then runs docker with the arguments; with AT set, against
// that node's engine instead of the manager `vela env` chose.
const dockerScript = `set -e
eval "$("$VELA" env "$CLUSTER")"
if [ -n "$AT" ]; then export DOCKER_HOST="tcp://$AT:2376"; fi
exec docker "$@"`

// docker runs `docker ARGS` through the bundle of cluster (at a node's
// address when at is not empty) and returns its trimmed stdout.
func (u user) docker(cluster, at string, args ...string) (string, error) {
	cmd := exec.CommandContext(u.ctx, "bash", append([]string{"-c", dockerScript, "bash"}, args...)...)
	cmd.Env = append(u.env, "CLUSTER="+cluster, "AT="+at)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(o.String()), &dockerError{args: args, err: err, out: o.String() + e.String()}
	}
	return strings.TrimSpace(o.String()), nil
}

// mustDocker is docker failing t on error.
func (u user) mustDocker(t *testing.T, cluster, at string, args ...string) string {
	t.Helper()
	out, err := u.docker(cluster, at, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type dockerError struct {
	args []string
	err  error
	out  string
}

func (e *dockerError) Error() string {
	return "docker " + strings.Join(e.args, " ") + " through the bundle: " + e.err.Error() + "\n" + e.out
}
