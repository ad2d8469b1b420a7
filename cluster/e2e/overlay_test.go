package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/swarm/swarmtest"
)

// nodeAddrs returns the addresses of a cluster's nodes, in name order.
func nodeAddrs(t *testing.T, st *Stack, tenant, cluster string) []string {
	t.Helper()
	ns, err := st.Admin.ClusterNodes(context.Background(), tenant, cluster)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range ns {
		p, err := netip.ParsePrefix(n.Address)
		if err != nil {
			t.Fatalf("node %s: address %q: %v", n.Name, n.Address, err)
		}
		out = append(out, p.Addr().String())
	}
	return out
}

// labelNodes gives the Swarm node at nodes[i] the label side=a, b, c...
// (what the stack's placement constraints ask for).
func labelNodes(t *testing.T, acme user, nodes []string) {
	t.Helper()
	for i, ip := range nodes {
		id := acme.mustDocker(t, "web", ip, "info", "--format", "{{.Swarm.NodeID}}")
		acme.mustDocker(t, "web", "", "node", "update", "--label-add", "side="+string(rune('a'+i)), id)
	}
}

// swarmState logs the Swarm's nodes with their labels and the stack's
// tasks, to tell why a task is not where it should be.
func swarmState(t *testing.T, acme user) {
	t.Helper()
	out, err := acme.docker("web", "", "node", "ls", "--format", "{{.ID}} {{.Hostname}} {{.Status}} {{.ManagerStatus}}")
	t.Logf("docker node ls: %v\n%s", err, out)
	for _, id := range strings.Fields(acme.mustDocker(t, "web", "", "node", "ls", "-q")) {
		out, err := acme.docker("web", "", "node", "inspect", "--format", "{{.Description.Hostname}} labels={{.Spec.Labels}}", id)
		t.Logf("node %s: %s %v", id, out, err)
	}
	for _, s := range []string{"app_backend", "app_frontend"} {
		out, err := acme.docker("web", "", "service", "ps", "--no-trunc", "--format", "{{.Name}} {{.Node}} {{.DesiredState}} {{.CurrentState}} {{.Error}}", s)
		t.Logf("docker service ps %s: %v\n%s", s, err, out)
	}
}

// checkStack deploys testdata/stack.yaml with `docker stack deploy`
// through acme's bundle of web, the backend on nodes[0] and the frontend on
// nodes[1]: the frontend reaches the backend over the backend overlay, the
// backend cannot reach the frontend. The image is imported on every node
// (no registry).
func checkStack(t *testing.T, acme user, nodes []string) {
	tarball := swarmtest.BusyboxTarball(t)
	for _, ip := range nodes {
		acme.mustDocker(t, "web", ip, "import", tarball, swarmtest.BusyboxImage)
	}
	labelNodes(t, acme, nodes)
	stack, err := filepath.Abs(filepath.Join("testdata", "stack.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	acme.mustDocker(t, "web", "", "stack", "deploy", "--resolve-image", "never", "-c", stack, "app")
	t.Cleanup(func() {
		if t.Failed() {
			swarmState(t, acme)
		}
	})
	ctx := context.Background()
	backend := func() (bool, string) {
		out, err := acme.docker("web", nodes[0], "ps", "-q", "--filter", "name=app_backend")
		return err == nil && out != "", fmt.Sprint(out, err)
	}
	if err := Poll(ctx, 90*time.Second, "the backend task running on "+nodes[0], backend); err != nil {
		t.Fatal(err)
	}
	ctr := acme.mustDocker(t, "web", nodes[0], "ps", "-q", "--filter", "name=app_backend")
	acme.mustDocker(t, "web", nodes[0], "exec", ctr, "sh", "-c", "echo hello-from-backend > /data/index.html")
	t.Logf("stack deployed, backend running after %v", time.Since(start).Round(time.Millisecond))
	if err := Poll(ctx, 90*time.Second, "the frontend to reach the backend over the overlay", func() (bool, string) {
		out, err := acme.docker("web", "", "service", "logs", "--raw", "--tail", "5", "app_frontend")
		return strings.Contains(out, "hello-from-backend"), fmt.Sprint(out, err)
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("frontend on %s reached the backend on %s after %v", nodes[1], nodes[0], time.Since(start).Round(time.Millisecond))
	// The networks are apart: the backend, only on the backend network,
	// cannot reach the frontend's address on the frontend network, where
	// the frontend serves. (It does reach the frontend by name, over the
	// backend network they share.)
	fctr := acme.mustDocker(t, "web", nodes[1], "ps", "-q", "--filter", "name=app_frontend")
	fip := acme.mustDocker(t, "web", nodes[1], "inspect", "--format", `{{(index .NetworkSettings.Networks "app_frontend").IPAddress}}`, fctr)
	url := "http://" + fip + ":80/index.html"
	if out, err := acme.docker("web", nodes[1], "exec", fctr, "busybox", "timeout", "5", "wget", "-q", "-O-", url); !strings.Contains(out, "hello-from-frontend") {
		t.Errorf("the frontend does not serve on its own address %s: %q %v", url, out, err)
	}
	if out, _ := acme.docker("web", nodes[0], "exec", ctr, "sh", "-c", "busybox timeout 5 wget -q -O- "+url+" 2>&1 || echo blocked"); !strings.Contains(out, "blocked") || strings.Contains(out, "hello-from-frontend") {
		t.Errorf("the backend reached the frontend network at %s: %s", url, out)
	}
}

// checkRebuild writes a file to the stack's volume on nodes[0], rebuilds
// the Swarm with `vela cluster rebuild --wait`: the file is still there, the
// Swarm is active with 3 managers again and, when the stack was deployed,
// the nodes that rejoined the Swarm have their placement labels back (Vela
// copies them) and the frontend reaches the backend again.
func checkRebuild(t *testing.T, st *Stack, acme user, nodes []string, stack bool) {
	ctx := context.Background()
	a := nodes[0]
	acme.mustDocker(t, "web", a, "run", "--rm", "-v", "app_data:/d", swarmtest.BusyboxImage, "sh", "-c", "echo kept > /d/rebuilt")
	before, err := st.Admin.GetCluster(ctx, "acme", "web")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	acme.must(t, "cluster", "rebuild", "web", "--wait", "--timeout", "3m")
	t.Logf("rebuild --wait: %v", time.Since(start).Round(time.Millisecond))
	if cl, err := st.Admin.GetCluster(ctx, "acme", "web"); err != nil || cl.Rebuilt != cl.Rebuild || cl.Rebuild <= before.Rebuilt {
		t.Errorf("rebuild not carried out: rebuild %d rebuilt %d (before %d) %v", cl.Rebuild, cl.Rebuilt, before.Rebuilt, err)
	}
	if err := Poll(ctx, 60*time.Second, "an active Swarm of 3 nodes, 3 managers after the rebuild", func() (bool, string) {
		out, err := acme.docker("web", "", "info", "--format", "{{.Swarm.LocalNodeState}} nodes={{.Swarm.Nodes}} managers={{.Swarm.Managers}}")
		return out == "active nodes=3 managers=3", fmt.Sprint(out, err)
	}); err != nil {
		t.Error(err)
	}
	if got := acme.mustDocker(t, "web", a, "run", "--rm", "-v", "app_data:/d", swarmtest.BusyboxImage, "cat", "/d/rebuilt"); got != "kept" {
		t.Errorf("the volume after the rebuild holds %q, want kept", got)
	}
	if !stack {
		return
	}
	// The nodes other than the survivor left the Swarm and joined it again
	// as new Swarm nodes; Vela puts the tenant's labels back on them.
	if err := Poll(ctx, 60*time.Second, "the placement labels back on every node after the rebuild", func() (bool, string) {
		ids, err := acme.docker("web", "", "node", "ls", "-q")
		if err != nil {
			return false, err.Error()
		}
		var sides []string
		for _, id := range strings.Fields(ids) {
			side, err := acme.docker("web", "", "node", "inspect", "--format", `{{index .Spec.Labels "side"}}`, id)
			if err != nil {
				return false, err.Error()
			}
			sides = append(sides, side)
		}
		slices.Sort(sides)
		return slices.Equal(sides, []string{"a", "b", "c"}), fmt.Sprint("sides ", sides)
	}); err != nil {
		swarmState(t, acme)
		t.Error(err)
	}
	if err := Poll(ctx, 60*time.Second, "the frontend to reach the backend after the rebuild", func() (bool, string) {
		ctr, err := acme.docker("web", nodes[1], "ps", "-q", "--filter", "name=app_frontend")
		if err != nil || ctr == "" {
			return false, fmt.Sprint("no frontend container: ", err)
		}
		out, err := acme.docker("web", nodes[1], "exec", strings.Fields(ctr)[0], "busybox", "timeout", "5", "wget", "-q", "-O-", "http://backend:8080/index.html")
		return strings.Contains(out, "hello-from-backend"), fmt.Sprint(out, err)
	}); err != nil {
		t.Error(err)
	}
	t.Logf("frontend reaches the backend again %v after the rebuild started", time.Since(start).Round(time.Millisecond))
}
