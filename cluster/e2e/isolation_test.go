package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
)

// refused runs `vela ARGS`, wants it to fail with one line on stderr that
// carries the HTTP status (one of codes) and every string of want, and
// never a 5xx.
func refused(t *testing.T, u user, args []string, codes []string, want ...string) {
	t.Helper()
	_, stderr, err := u.run(t, args...)
	if err == nil {
		t.Errorf("vela %s: succeeded, want a refusal", strings.Join(args, " "))
		return
	}
	line := strings.TrimSpace(stderr)
	if lines := strings.Split(line, "\n"); len(lines) != 1 {
		t.Errorf("vela %s: error on %d lines, want one:\n%s", strings.Join(args, " "), len(lines), line)
		line = lines[len(lines)-1]
	}
	status := ""
	for _, c := range codes {
		if strings.Contains(line, "(HTTP "+c+")") {
			status = c
		}
	}
	if status == "" || strings.Contains(line, "HTTP 5") {
		t.Errorf("vela %s: %q, want HTTP %s", strings.Join(args, " "), line, strings.Join(codes, " or "))
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("vela %s: %q does not say %q", strings.Join(args, " "), line, w)
		}
	}
}

// checkIsolation: tenant beta, with its own token, cannot list, read,
// get credentials of, change or delete acme's cluster web, through the
// CLI (one clear line, 403 or 404) nor the API; web is untouched.
func checkIsolation(t *testing.T, st *Stack, beta user, betaToken string) {
	ctx := context.Background()
	dir := t.TempDir()
	forbidden := []string{"403"}
	notFound := []string{"404"}
	for _, c := range []struct {
		args  []string
		codes []string
		want  []string
	}{
		{[]string{"cluster", "ls", "--tenant", "acme"}, forbidden, []string{`tenant "acme"`}},
		{[]string{"cluster", "get", "web", "--tenant", "acme"}, forbidden, []string{`tenant "acme"`}},
		{[]string{"cluster", "get", "web"}, notFound, []string{`cluster "web" of tenant "beta" not found`}},
		{[]string{"credentials", "web", "--tenant", "acme", "--dir", dir}, forbidden, nil},
		{[]string{"credentials", "web", "--tenant", "acme", "--zip", filepath.Join(dir, "web.zip")}, forbidden, nil},
		{[]string{"credentials", "web", "--dir", dir}, notFound, nil},
		{[]string{"env", "web", "--tenant", "acme", "--dir", dir}, forbidden, nil},
		{[]string{"cluster", "grow", "web", "--nodes", "1", "--tenant", "acme"}, forbidden, nil},
		{[]string{"cluster", "rebuild", "web", "--tenant", "acme"}, forbidden, nil},
		{[]string{"cluster", "rm", "web", "--tenant", "acme"}, forbidden, nil},
		{[]string{"cluster", "rm", "web"}, notFound, nil},
	} {
		refused(t, beta, c.args, c.codes, c.want...)
	}
	if out := strings.TrimSpace(beta.must(t, "cluster", "ls", "-o", "json")); out != "[]" {
		t.Errorf("beta's cluster ls shows %s, want []", out)
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("refused credentials left files in %s: %v", dir, es)
	}

	// The same through the API, status by status.
	bc, err := client.New(client.Config{Server: st.Server, CAPEM: st.CAPEM, Token: betaToken})
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	_, csr, _ := pki.NewKeyAndCSR("beta/web")
	for _, c := range []struct {
		what string
		call func() error
	}{
		{"get", func() error { _, err := bc.GetCluster(ctx, "acme", "web"); return err }},
		{"nodes", func() error { _, err := bc.ClusterNodes(ctx, "acme", "web"); return err }},
		{"sign credentials", func() error { _, err := bc.SignCredentials(ctx, "acme", "web", csr); return err }},
		{"zip credentials", func() error { _, err := bc.CredentialsZip(ctx, "acme", "web"); return err }},
		{"delete", func() error { _, err := bc.DeleteCluster(ctx, "acme", "web"); return err }},
	} {
		if s := client.StatusOf(c.call()); s != 403 && s != 404 {
			t.Errorf("API %s of acme/web with beta's token: HTTP %d, want 403 or 404", c.what, s)
		}
	}
	if cl, err := st.Admin.GetCluster(ctx, "acme", "web"); err != nil || cl.State != fsm.ClusterActive || cl.Deleting {
		t.Errorf("acme/web after beta's attempts: %+v %v, want active", cl.State, err)
	}
}

// checkQuotas: beyond max_nodes_per_cluster (create and grow) and
// max_clusters the API refuses at once, naming the quota; a cluster the
// hypervisor has no room for ends in error with the shortfall.
func checkQuotas(t *testing.T, st *Stack, admin, acme, beta user) {
	conflict := []string{"409"}
	admin.must(t, "quotas", "set", "acme", "--max-nodes-per-cluster", "3")
	refused(t, acme, []string{"cluster", "grow", "web", "--nodes", "1"}, conflict,
		"quota exceeded", `cluster "web" would have 4 nodes`, "max_nodes_per_cluster")
	admin.must(t, "quotas", "set", "acme", "--max-nodes-per-cluster", "0")

	// One node more than the hypervisor's whole memory holds (whatever the
	// host): it can never be placed.
	hv, err := st.Admin.Hypervisor(context.Background(), st.cfg.Hostname)
	if err != nil {
		t.Fatal(err)
	}
	n := int(hv.MemoryBytes/(4<<30)) + 1
	admin.must(t, "quotas", "set", "beta", "--max-clusters", "1", "--max-nodes-per-cluster", strconv.Itoa(n))
	refused(t, beta, []string{"cluster", "create", "huge", "--nodes", strconv.Itoa(n + 1)}, conflict,
		"quota exceeded", fmt.Sprintf("would have %d nodes", n+1), "max_nodes_per_cluster")
	_, stderr, err := beta.run(t, "cluster", "create", "huge", "--nodes", strconv.Itoa(n), "--wait", "--timeout", "60s")
	if want := fmt.Sprintf("no capacity: needs %d node(s) of 4.0 GiB", n); err == nil || !strings.Contains(stderr, want) || !strings.Contains(stderr, "next step") {
		t.Errorf("create --nodes %d: %v %q, want %q and a next step", n, err, stderr, want)
	}
	refused(t, beta, []string{"cluster", "create", "second"}, conflict,
		"quota exceeded", `tenant "beta" has 1 of 1 clusters (huge)`, "max_clusters")
	beta.must(t, "cluster", "rm", "huge", "--wait", "--timeout", "60s")
}
