//go:build e2e

// The end-to-end test of the whole appliance on this host: `vela install`
// of examples/lab.yaml (3 qemu VMs PXE-booting vela-os through our own
// boot services), then what an operator and a tenant would check, a VM
// killed, and `vela lab down`. It takes minutes, so it is behind the e2e
// build tag and `make test` runs it on its own after the other tests
// (`make e2e`), not beside them.
package lab_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/installer/lab"
	"github.com/vela-appliance/vela/installer/run"
)

// e2eLimit bounds the whole test (the issue asks for a bound; the lab
// alone takes 5-8 minutes from a warm image cache under TCG).
const e2eLimit = 30 * time.Minute

type e2e struct {
	t        *testing.T
	ctx      context.Context
	root     string // the repository
	bin      string // the vela under test
	state    string // --state-dir
	home     string // HOME of every command: the admin context lands here
	phases   []string
	start    time.Time
	lastMark time.Time
}

func (e *e2e) mark(phase string) {
	now := time.Now()
	line := fmt.Sprintf("%-44s %8s  (at %s)", phase, now.Sub(e.lastMark).Round(100*time.Millisecond), now.Sub(e.start).Round(time.Second))
	e.phases = append(e.phases, line)
	e.t.Log("phase done: " + line)
	e.lastMark = now
}

// vela runs the CLI as the admin (or with extra env) and returns stdout.
func (e *e2e) vela(env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(e.ctx, e.bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+e.home, "XDG_CONFIG_HOME="+filepath.Join(e.home, ".config"))
	cmd.Env = append(cmd.Env, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("vela %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func (e *e2e) velaJSON(env []string, v any, args ...string) error {
	out, err := e.vela(env, append(args, "-o", "json")...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("vela %s: output is not the JSON expected: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// poll retries check until it returns nil or d passes; the last error
// fails the test.
func (e *e2e) poll(d time.Duration, what string, check func() error) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	said := time.Now()
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || e.ctx.Err() != nil {
			e.t.Fatalf("%s: not within %s: %v", what, d, err)
		}
		if time.Since(said) > 30*time.Second {
			e.t.Logf("%s: still waiting: %v", what, err)
			said = time.Now()
		}
		select {
		case <-e.ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}

func TestLabEndToEnd(t *testing.T) {
	if os.Geteuid() != 0 {
		need(t, "root")
	}
	for _, bin := range []string{"qemu-system-x86_64", "docker", "busybox", "iptables-save"} {
		if _, err := exec.LookPath(bin); err != nil {
			need(t, bin)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), e2eLimit)
	defer cancel()
	tmp := t.TempDir()
	e := &e2e{t: t, ctx: ctx, root: root, bin: filepath.Join(tmp, "vela"), state: filepath.Join(tmp, "state"), home: filepath.Join(tmp, "home"),
		start: time.Now(), lastMark: time.Now()}
	cfgPath := filepath.Join(root, "examples", "lab.yaml")
	cfg, _, diags := config.Load(cfgPath)
	if cfg == nil || diags.HasErrors() {
		t.Fatalf("%s: %v", cfgPath, diags)
	}
	nw, err := lab.NetworkFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.InterfaceByName(nw.Bridge); err == nil {
		t.Fatalf("bridge %s exists: a lab already runs on this host; remove it with `vela lab down` and rerun", nw.Bridge)
	}
	netnsBefore := netnsList(t)
	build := exec.CommandContext(ctx, "go", "build", "-o", e.bin, "./cmd/vela")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build vela: %v\n%s", err, out)
	}
	downDone := false
	t.Cleanup(func() {
		if !downDone {
			dctx, c := context.WithTimeout(context.Background(), 2*time.Minute)
			defer c()
			out, err := exec.CommandContext(dctx, e.bin, "lab", "down", "--state-dir", e.state).CombinedOutput()
			t.Logf("cleanup: vela lab down: %v %s", err, out)
		}
		t.Log("phases:\n" + strings.Join(e.phases, "\n"))
	})
	e.mark("build vela")

	e.install(cfgPath)
	e.checkControlPlane()
	nodes := e.checkCluster()
	e.checkService(nodes, filepath.Join(tmp, "bundle"))
	e.killOne()
	owned := e.down()
	downDone = true
	e.checkNothingLeft(nw.Bridge, owned, netnsBefore)
}

// install runs the installer's whole plan and marks its phases from the
// events (--output json).
func (e *e2e) install(cfgPath string) {
	t := e.t
	logPath := filepath.Join(filepath.Dir(e.state), "install.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.CommandContext(e.ctx, e.bin, "install", "--config", cfgPath, "--state-dir", e.state, "-o", "json")
	cmd.Env = append(os.Environ(), "HOME="+e.home, "XDG_CONFIG_HOME="+filepath.Join(e.home, ".config"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ms := run.NewMilestones(3, 2, 3)
	var last []string
	sc := bufio.NewScanner(io.TeeReader(stdout, logf))
	for sc.Scan() {
		var ev run.Event
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		last = append(last, sc.Text())
		if len(last) > 30 {
			last = last[1:]
		}
		if m, ok := ms.Observe(ev); ok && m.Name != run.MilestoneDone {
			e.mark(m.Name)
		}
		switch {
		case ev.Type == run.EventStepFailed || ev.Type == run.EventRunFailed:
			t.Logf("install: %s %s: %s (next: %s)", ev.Type, ev.Step, ev.Error, ev.Next)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("vela install: %v; last events:\n%s\nconsole logs and the full log (%s) are in the state dir", err, strings.Join(last, "\n"), logPath)
	}
	e.mark("install done (health step)")
}

func (e *e2e) checkControlPlane() {
	var members []struct {
		ID     string `json:"id"`
		Role   string `json:"role"`
		Leader bool   `json:"leader"`
	}
	e.poll(time.Minute, "vela members ls: 3 voters with a leader", func() error {
		if err := e.velaJSON(nil, &members, "members", "ls"); err != nil {
			return err
		}
		voters, leaders := 0, 0
		for _, m := range members {
			if m.Role == "voter" {
				voters++
			}
			if m.Leader {
				leaders++
			}
		}
		if voters != 3 || leaders != 1 {
			return fmt.Errorf("%d voters, %d leaders: %+v", voters, leaders, members)
		}
		return nil
	})
	var hvs []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	}
	e.poll(time.Minute, "vela hypervisors ls: 3 ready", func() error {
		if err := e.velaJSON(nil, &hvs, "hypervisors", "ls"); err != nil {
			return err
		}
		ready := slices.DeleteFunc(slices.Clone(hvs), func(h struct {
			Name  string `json:"name"`
			State string `json:"state"`
		}) bool {
			return h.State != "ready"
		})
		if len(ready) != 3 {
			return fmt.Errorf("%+v", hvs)
		}
		return nil
	})
	e.mark("members and hypervisors checked")
}

// tenantEnv makes the CLI act as the demo tenant the installer created.
func (e *e2e) tenantEnv() []string {
	return []string{"VELA_CONFIG=" + filepath.Join(e.state, "tenants", "demo", "config.json")}
}

type clusterView struct {
	Cluster struct {
		State, Reason, Health string
		Managers              []string
	} `json:"cluster"`
	Nodes []struct {
		Name, Address, State string
	} `json:"nodes"`
}

func (e *e2e) getCluster() (clusterView, error) {
	var v clusterView
	err := e.velaJSON(e.tenantEnv(), &v, "cluster", "get", "demo")
	return v, err
}

// checkCluster: the demo cluster is active and its Swarm has 3 nodes, as
// `docker info` through the tenant's bundle says. It returns the nodes' IPs.
func (e *e2e) checkCluster() []string {
	var v clusterView
	e.poll(2*time.Minute, "demo cluster active with 3 nodes", func() error {
		var err error
		if v, err = e.getCluster(); err != nil {
			return err
		}
		if v.Cluster.State != "active" || len(v.Nodes) != 3 || len(v.Cluster.Managers) != 3 {
			return fmt.Errorf("state %s (%s), %d nodes, managers %v", v.Cluster.State, v.Cluster.Reason, len(v.Nodes), v.Cluster.Managers)
		}
		return nil
	})
	var ips []string
	for _, n := range v.Nodes {
		ip, _, err := net.ParseCIDR(n.Address)
		if err != nil {
			e.t.Fatalf("node %s: address %q: %v", n.Name, n.Address, err)
		}
		ips = append(ips, ip.String())
	}
	e.mark("demo cluster active, 3 managers")
	return ips
}

// docker runs the docker CLI with the bundle's settings, against host
// (the bundle's DOCKER_HOST when empty).
func (e *e2e) docker(bundle, host string, args ...string) (string, error) {
	cmd := exec.CommandContext(e.ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH="+bundle, "HOME="+e.home)
	if host != "" {
		cmd.Env = append(cmd.Env, "DOCKER_HOST=tcp://"+net.JoinHostPort(host, "2376"))
	} else {
		cmd.Env = append(cmd.Env, "DOCKER_HOST="+envValue(e.t, filepath.Join(bundle, "docker.env"), "DOCKER_HOST"))
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

func (e *e2e) checkService(nodes []string, bundle string) {
	t := e.t
	if _, err := e.vela(e.tenantEnv(), "credentials", "demo", "--path", bundle); err != nil {
		t.Fatal(err)
	}
	// A node that joined again (a join that outlasted its call) leaves its
	// old Swarm entry behind until it is down and Vela prunes it: the
	// Swarm converges to the cluster's 3 nodes.
	e.poll(3*time.Minute, "docker info through the bundle: a Swarm of 3 nodes, 3 managers", func() error {
		out, err := e.docker(bundle, "", "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.Nodes}} {{.Swarm.Managers}}")
		if err != nil {
			return err
		}
		if out != "active 3 3" {
			ls, _ := e.docker(bundle, "", "node", "ls", "--format", "{{.ID}} {{.Hostname}} {{.Status}} {{.ManagerStatus}}")
			return fmt.Errorf("docker info says %q; docker node ls: %s", out, strings.ReplaceAll(ls, "\n", "; "))
		}
		return nil
	})
	e.mark("docker info through the bundle")
	// No registry: one node imports a busybox image, the others load it
	// (same image ID everywhere), and the service names it by ID, which
	// Swarm runs without trying a registry first (a name costs minutes of
	// pull attempts here).
	if _, err := e.docker(bundle, nodes[0], "import", busyboxTarball(t), "vela-e2e/busybox"); err != nil {
		t.Fatal(err)
	}
	id, err := e.docker(bundle, nodes[0], "image", "inspect", "--format", "{{.Id}}", "vela-e2e/busybox")
	if err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(t.TempDir(), "busybox-image.tar")
	if _, err := e.docker(bundle, nodes[0], "save", "-o", saved, "vela-e2e/busybox"); err != nil {
		t.Fatal(err)
	}
	for _, ip := range nodes[1:] {
		if _, err := e.docker(bundle, ip, "load", "-i", saved); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("image %s on every node (%s)", id, time.Since(e.lastMark).Round(100*time.Millisecond))
	created := time.Now()
	if _, err := e.docker(bundle, "", "service", "create", "--detach", "--name", "hello", "--mode", "global", "--endpoint-mode", "dnsrr",
		"--no-resolve-image", "--publish", "mode=host,target=8080,published=8080", id,
		"sh", "-c", "mkdir -p /www && echo hello-vela > /www/index.html && exec httpd -f -p 8080 -h /www"); err != nil {
		t.Fatal(err)
	}
	for _, ip := range nodes {
		url := "http://" + net.JoinHostPort(ip, "8080") + "/"
		e.poll(3*time.Minute, "service answers on "+url, func() error {
			resp, err := http.Get(url)
			if err != nil {
				// Where Swarm is with the tasks says why.
				ps, _ := e.docker(bundle, "", "service", "ps", "hello", "--no-trunc", "--format", "{{.Node}} {{.CurrentState}} {{.Error}}")
				return fmt.Errorf("%w; tasks: %s", err, strings.ReplaceAll(ps, "\n", "; "))
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if strings.TrimSpace(string(b)) != "hello-vela" {
				return fmt.Errorf("status %s, body %q", resp.Status, b)
			}
			return nil
		})
		t.Logf("%s answers %s after the service was created", url, time.Since(created).Round(100*time.Millisecond))
	}
	e.mark("service deployed through the bundle answers")
}

// killOne SIGKILLs the qemu of lab-3 (not the member the admin context
// points at): writes still commit, and the cluster is degraded, not lost.
func (e *e2e) killOne() {
	t := e.t
	l, err := lab.Open(e.state)
	if err != nil {
		t.Fatal(err)
	}
	st, err := l.Status()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(st.VMs, func(v lab.VMStatus) bool { return v.Name == "lab-3" })
	if i < 0 || !st.VMs[i].Running {
		t.Fatalf("lab-3 is not running: %+v", st.VMs)
	}
	if err := syscall.Kill(st.VMs[i].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	e.poll(2*time.Minute, "a write to the control plane after killing lab-3", func() error {
		_, err := e.vela(nil, "tenants", "create", "e2e-after-kill")
		if err != nil && strings.Contains(err.Error(), "exists") {
			return nil
		}
		return err
	})
	t.Logf("first write after the kill committed %s after it", time.Since(killed).Round(100*time.Millisecond))
	e.poll(4*time.Minute, "demo cluster degraded, not lost", func() error {
		v, err := e.getCluster()
		if err != nil {
			return err
		}
		if v.Cluster.State == "error" || v.Cluster.State == "deleted" {
			t.Fatalf("cluster %s after losing one VM: %s", v.Cluster.State, v.Cluster.Reason)
		}
		if v.Cluster.Health != "degraded" {
			return fmt.Errorf("state %s, health %s", v.Cluster.State, v.Cluster.Health)
		}
		return nil
	})
	e.mark("lab-3 killed: writes commit, cluster degraded")
}

func (e *e2e) down() lab.Owned {
	l, err := lab.Open(e.state)
	if err != nil {
		e.t.Fatal(err)
	}
	st, err := l.Status()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.vela(nil, "lab", "down", "--state-dir", e.state); err != nil {
		e.t.Fatal(err)
	}
	for _, vm := range st.VMs {
		if vm.PID > 0 && syscall.Kill(vm.PID, 0) == nil && isQemu(vm.PID) {
			e.t.Errorf("VM %s (qemu pid %d) still runs after lab down", vm.Name, vm.PID)
		}
	}
	e.mark("vela lab down")
	return st.Owned
}

func (e *e2e) checkNothingLeft(bridge string, owned lab.Owned, netnsBefore []string) {
	t := e.t
	for _, link := range append([]string{bridge}, owned.Taps...) {
		if _, err := net.InterfaceByName(link); err == nil {
			t.Errorf("link %s left after lab down", link)
		}
	}
	out, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, bridge) {
			t.Errorf("iptables rule left after lab down: %s", l)
		}
	}
	if out, _ := exec.Command("ip", "route", "show", "table", "all").Output(); strings.Contains(string(out), bridge) {
		t.Errorf("routes via %s left after lab down:\n%s", bridge, out)
	}
	if after := netnsList(t); !slices.Equal(after, netnsBefore) {
		t.Errorf("network namespaces before %v, after %v", netnsBefore, after)
	}
}

func netnsList(t *testing.T) []string {
	entries, err := os.ReadDir("/run/netns")
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func isQemu(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && strings.Contains(string(b), "qemu")
}

// envValue reads KEY from a docker.env bundle file (KEY=VALUE or export KEY=VALUE).
func envValue(t *testing.T, path, key string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimPrefix(strings.TrimSpace(l), "export ")
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	t.Fatalf("%s: no %s", path, key)
	return ""
}

// busyboxTarball is a root filesystem of busybox-static for `docker import`.
func busyboxTarball(t *testing.T) string {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"sh", "mkdir", "echo", "httpd"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", l)); err != nil {
			t.Fatal(err)
		}
	}
	tarball := filepath.Join(t.TempDir(), "busybox.tar")
	if out, err := exec.Command("tar", "-C", root, "-cf", tarball, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	return tarball
}

// need fails in CI and skips elsewhere when a component is missing.
func need(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required (CI is set); `make deps` installs it", what)
	}
	t.Skipf("%s is missing (CI unset); `make deps` installs it", what)
}
