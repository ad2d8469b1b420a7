package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/agent/hypervisor/hvtest"
	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/fsm"
)

// TestMain holds the host routes lock for the whole package: the stack's
// agent rewrites the host's VELA-ROUTES chains, as cluster/agent's tests do.
func TestMain(m *testing.M) {
	if os.Geteuid() == 0 {
		lock, err := LockHostRoutes()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		code := m.Run()
		lock.Close()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// need skips t (or fails it in CI) when a program is missing.
func need(t *testing.T, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") == "" {
				t.Skipf("needs %s", p)
			}
			t.Fatalf("CI is set but %s is missing", p)
		}
	}
}

// TestTenantClusterOnRealLibvirt is issue #8's test on real parts: a
// tenant logs in with the CLI and creates a 3-node cluster (real LXC nodes
// on a real libvirtd, placed by a real member's controller, run by a real
// agent); its credentials bundle reaches a Swarm of 3 nodes, all managers.
// Then, on that cluster: another tenant is refused everything on it; the
// quotas and the capacity refuse with their reasons; a stack with two
// overlay networks and a named volume deploys and its frontend reaches its
// backend across nodes; a rebuild keeps the volume's data; growing by 1
// adds a worker; rm --wait leaves no domain, no node directory.
func TestTenantClusterOnRealLibvirt(t *testing.T) {
	need(t, "mkfs.ext4", "iptables", "ip", "docker", "nsenter", "go", "bash", "tar", "busybox")
	lv := hvtest.Start(t)
	image := hvtest.NodeImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	work, err := os.MkdirTemp("", "vela-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(work) })
	vela := filepath.Join(work, "vela")
	if out, err := exec.Command("go", "build", "-o", vela, "github.com/vela-appliance/vela/cmd/vela").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/vela: %v\n%s", err, out)
	}
	st, err := Start(ctx, Config{Dir: filepath.Join(work, "s"), Socket: lv.Socket, Image: image, Vela: vela, Pool: "10.238.0.0/16",
		Logger: slog.New(slog.NewTextHandler(&logWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})

	// Three people on three laptops: the operator and two tenants.
	admin := newUser(ctx, vela, filepath.Join(work, "admin"))
	acme := newUser(ctx, vela, filepath.Join(work, "acme"))
	beta := newUser(ctx, vela, filepath.Join(work, "beta"))
	server := "https://" + st.Server
	admin.must(t, "login", server, "--token", st.AdminToken, "--ca-file", st.CAFile)
	tokens := map[string]string{}
	for _, tenant := range []string{"acme", "beta"} {
		admin.must(t, "tenants", "create", tenant)
		tok, err := st.Admin.CreateToken(ctx, api.APITokenRequest{Name: "e2e", Scope: fsm.ScopeTenant, Tenant: tenant})
		if err != nil {
			t.Fatal(err)
		}
		tokens[tenant] = tok.Token
	}
	acme.must(t, "login", server, "--token", tokens["acme"], "--ca-file", st.CAFile)
	beta.must(t, "login", server, "--token", tokens["beta"], "--ca-file", st.CAFile)

	swarm := func() string {
		t.Helper()
		return acme.mustDocker(t, "web", "", "info", "--format", "{{.Swarm.LocalNodeState}} nodes={{.Swarm.Nodes}} managers={{.Swarm.Managers}}")
	}
	ok := t.Run("create", func(t *testing.T) {
		start := time.Now()
		acme.must(t, "cluster", "create", "web", "--nodes", "3", "--wait", "--timeout", "4m")
		t.Logf("create --nodes 3 --wait: %v", time.Since(start).Round(time.Millisecond))
		if got := swarm(); got != "active nodes=3 managers=3" {
			t.Errorf("after create: docker info says %q, want active nodes=3 managers=3", got)
		}
		var got struct{ Cluster fsm.Cluster }
		if err := json.Unmarshal([]byte(acme.must(t, "cluster", "get", "web", "-o", "json")), &got); err != nil {
			t.Fatal(err)
		}
		want := append([]string(nil), got.Cluster.Managers...)
		sort.Strings(want)
		ms := acme.mustDocker(t, "web", "", "node", "ls", "--filter", "role=manager", "--format", "{{.Hostname}}")
		have := strings.Fields(ms)
		sort.Strings(have)
		if strings.Join(have, ",") != strings.Join(want, ",") {
			t.Errorf("Swarm managers %q, the control plane says %v", have, want)
		}
		if ds, _ := st.Domains(ctx); len(ds) != 3 {
			t.Errorf("libvirt domains after create: %v, want 3", ds)
		}
	})
	if !ok {
		t.FailNow()
	}
	t.Run("isolation", func(t *testing.T) { checkIsolation(t, st, beta, tokens["beta"]) })
	t.Run("quotas", func(t *testing.T) { checkQuotas(t, st, admin, acme, beta) })
	nodes := nodeAddrs(t, st, "acme", "web")
	stack := t.Run("stack", func(t *testing.T) { checkStack(t, acme, nodes) })
	t.Run("rebuild", func(t *testing.T) { checkRebuild(t, st, acme, nodes, stack) })

	t.Run("grow", func(t *testing.T) {
		start := time.Now()
		acme.must(t, "cluster", "grow", "web", "--nodes", "1", "--wait", "--timeout", "3m")
		t.Logf("grow --nodes 1 --wait: %v", time.Since(start).Round(time.Millisecond))
		if got := swarm(); got != "active nodes=4 managers=3" {
			t.Errorf("after grow: docker info says %q, want active nodes=4 managers=3", got)
		}
		if out := acme.must(t, "cluster", "get", "web"); !strings.Contains(out, "worker") || strings.Count(out, "manager") < 3 {
			t.Errorf("cluster get after grow lacks 3 managers and a worker:\n%s", out)
		}
	})

	t.Run("rm", func(t *testing.T) {
		start := time.Now()
		acme.must(t, "cluster", "rm", "web", "--wait", "--timeout", "3m")
		t.Logf("rm --wait: %v", time.Since(start).Round(time.Millisecond))
		if err := Poll(ctx, 30*time.Second, "no domain left", func() (bool, string) {
			ds, err := st.Domains(ctx)
			return err == nil && len(ds) == 0, fmt.Sprint(ds, err)
		}); err != nil {
			t.Error(err)
		}
		if names, err := st.Nodes.Nodes(); err != nil || len(names) != 0 {
			t.Errorf("node directories left: %v %v", names, err)
		}
		if out := acme.must(t, "cluster", "ls", "-o", "json"); strings.TrimSpace(out) != "[]" {
			t.Errorf("cluster ls after rm: %s", out)
		}
	})
}

type logWriter struct{ t *testing.T }

func (w *logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
