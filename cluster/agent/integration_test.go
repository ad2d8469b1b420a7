package agent

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/agent/hypervisor"
	"github.com/vela-appliance/vela/cluster/agent/hypervisor/hvtest"
	"github.com/vela-appliance/vela/cluster/agent/node"
)

func TestNodesIntegration(t *testing.T) {
	need(t, "mkfs.ext4", "iptables", "docker", "nsenter", "go", "bash", "timeout")
	lv := hvtest.Start(t)
	image := hvtest.NodeImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	vela := buildVela(t)
	data, err := os.MkdirTemp("", "vela-agent-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o711); err != nil { // nodes' root must traverse it
		t.Fatal(err)
	}
	state := filepath.Join(data, "nodes") // where `vela agent --data-dir` keeps nodes
	mgr, err := node.New(node.Config{StateDir: state, Image: image, AuthzBinary: vela})
	if err != nil {
		t.Fatal(err)
	}
	hv := hypervisor.New(hypervisor.Config{Socket: lv.Socket})
	ca := newTestCA(t, "vela test cluster CA")
	certs := ca.clientDir(t, ca.pem)
	mk := func(name, tenant, addr string, mem, disk uint64) DesiredNode {
		d := desired(name, tenant, addr)
		d.Spec.MemoryBytes, d.Spec.DiskBytes = mem, disk
		d.TLS = ca.serverTLS(t, net.IP(d.Spec.Address.Addr().AsSlice()))
		return d
	}
	a1 := mk("vt-a1", "tenant-a", "10.231.1.10/24", 0, 0)
	a2 := mk("vt-a2", "tenant-a", "10.231.1.11/24", 1<<30, 0)
	a2.Spec.Privileged = true // the documented fallback, exercised too
	b1 := mk("vt-b1", "tenant-b", "10.231.2.10/24", 1<<30, 2<<30)
	cp := &fakeControlPlane{desired: []DesiredNode{a1, a2, b1}}
	t.Cleanup(func() {
		c := context.Background()
		for _, n := range []string{"vt-a1", "vt-a2", "vt-b1"} {
			if err := hv.Undefine(c, n); err != nil {
				t.Errorf("cleanup %s: %v", n, err)
			}
			if err := mgr.Remove(c, n); err != nil {
				t.Errorf("cleanup %s: %v", n, err)
			}
		}
		hv.Close()
		for _, n := range []node.TenantNet{a1.Network, b1.Network} {
			if err := node.RemoveNetwork(c, n); err != nil {
				t.Errorf("cleanup network: %v", err)
			}
		}
		_ = os.RemoveAll(data)
	})
	ag, err := New(Config{Hostname: "hv-test", ControlPlane: cp, Hypervisor: hv, Nodes: mgr, StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	if err := ag.Register(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := ag.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	addr := func(d DesiredNode) string { return d.Spec.Address.Addr().String() }
	for _, d := range []DesiredNode{a1, a2, b1} {
		out, err := dockerReady(ctx, addr(d), certs)
		if err != nil {
			t.Fatalf("%s: %v %s", d.Spec.Name, err, out)
		}
		t.Logf("%s: dockerd %s ready %v after reconcile start", d.Spec.Name, strings.TrimSpace(out), time.Since(start).Round(time.Millisecond))
	}

	t.Run("tls required", func(t *testing.T) {
		if out, err := docker(ctx, addr(a1), "", "info"); err == nil {
			t.Errorf("docker info without TLS succeeded: %s", out)
		}
		other := newTestCA(t, "another CA")
		if out, err := docker(ctx, addr(a1), other.clientDir(t, ca.pem), "info"); err == nil {
			t.Errorf("docker info with a client cert of another CA succeeded: %s", out)
		}
	})

	testImage(t, ctx, addr(a1), certs)
	testImage(t, ctx, addr(b1), certs)
	testImage(t, ctx, addr(a2), certs)

	t.Run("privileged fallback node runs containers", func(t *testing.T) {
		out, err := docker(ctx, addr(a2), certs, "run", "--rm", "vela/test", "cat", "/proc/self/uid_map")
		if err != nil || !strings.Contains(out, "0          0 4294967295") {
			t.Errorf("container in privileged node a2: %v %q; want the host's full uid map", err, out)
		}
		out, err = docker(ctx, addr(a1), certs, "run", "--rm", "vela/test", "cat", "/proc/self/uid_map")
		if err != nil || !strings.Contains(out, "100000") {
			t.Errorf("container in unprivileged node a1: %v %q; want uid 0 mapped to 100000", err, out)
		}
	})

	t.Run("tenant policy", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--privileged"}, "--privileged is not allowed on Vela nodes"},
			{[]string{"-v", "/:/host"}, "bind mount of / is not allowed on Vela nodes"},
			{[]string{"--cap-add", "SYS_ADMIN"}, "--cap-add SYS_ADMIN is not allowed"},
			{[]string{"--pid", "host"}, "--pid=host is not allowed"},
			{[]string{"--device", "/dev/loop0"}, "--device"},
		} {
			args := append(append([]string{"run", "--rm"}, tc.args...), "vela/test", "cat", "/proc/1/cmdline")
			out, err := docker(ctx, addr(a1), certs, args...)
			if err == nil || !strings.Contains(out, "authorization denied by plugin vela: "+tc.want) {
				t.Errorf("docker %v: %v %s; want refusal %q", args, err, out, tc.want)
			}
		}
		out, err := docker(ctx, addr(a1), certs, "volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt", "device=/etc", "sneaky")
		if err == nil || !strings.Contains(out, "authorization denied by plugin vela: volume option") {
			t.Errorf("a local volume binding /etc: %v %s; want a refusal", err, out)
		}
		if out, err := docker(ctx, addr(a1), certs, "run", "--rm", "-v", "data:/data", "--cap-add", "NET_BIND_SERVICE", "vela/test", "cat", "/proc/self/status"); err != nil {
			t.Errorf("an allowed run failed: %v %s", err, out)
		}
	})

	t.Run("memory limit", func(t *testing.T) {
		t0 := time.Now()
		out, err := docker(ctx, addr(a1), certs, "run", "--rm", "vela/test", "hog", "5120")
		t.Logf("5 GiB hog ended after %v: %v %s", time.Since(t0).Round(time.Millisecond), err, strings.TrimSpace(out))
		if err == nil || strings.Contains(out, "allocated 5120") {
			t.Fatalf("a container allocating 5 GiB in a 4 GiB node was not killed: %v %s", err, out)
		}
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 137 {
			t.Errorf("hog exit = %v (%s), want 137 (OOM kill)", err, out)
		}
		t0 = time.Now()
		if out, err := docker(ctx, addr(a1), certs, "run", "--rm", "vela/test", "hog", "512"); err != nil {
			t.Errorf("a 512 MiB container failed after the OOM: %v %s", err, out)
		}
		t.Logf("512 MiB run took %v", time.Since(t0).Round(time.Millisecond))
	})

	t.Run("disk limit", func(t *testing.T) {
		// The default 20 GB node: 21 GB cannot even be reserved.
		out, err := docker(ctx, addr(a1), certs, "run", "--rm", "vela/test", "fallocate", "-l", "21000000000", "/big")
		if err == nil {
			t.Errorf("fallocate 21 GB in a 20 GB node succeeded: %s", out)
		}
		if out, err := docker(ctx, addr(a1), certs, "run", "--rm", "vela/test", "fallocate", "-l", "1000000000", "/big"); err != nil {
			t.Errorf("fallocate 1 GB in a 20 GB node failed: %v %s", err, out)
		}
		// Real writes on the 2 GiB node b1: 2.2 GB of data must fail.
		out, err = docker(ctx, addr(b1), certs, "run", "--rm", "vela/test", "dd", "if=/dev/zero", "of=/big", "bs=1M", "count=2200")
		if err == nil || !strings.Contains(out, "No space left") {
			t.Errorf("writing 2.2 GB in a 2 GiB node: %v %s; want No space left on device", err, out)
		}
	})

	t.Run("tenant isolation", func(t *testing.T) {
		pa1, pb1 := node.InitPID("vt-a1"), node.InitPID("vt-b1")
		if !canConnect(ctx, pa1, addr(a2)+":2376") {
			t.Error("node a1 cannot reach node a2 of the same tenant")
		}
		if canConnect(ctx, pa1, addr(b1)+":2376") {
			t.Error("node a1 of tenant A reached node b1 of tenant B")
		}
		if canConnect(ctx, pb1, addr(a1)+":2376") {
			t.Error("node b1 of tenant B reached node a1 of tenant A")
		}
	})

	t.Run("outside policy", func(t *testing.T) {
		testOutside(t, ctx, node.InitPID("vt-a1"), addr(a1))
	})

	pids := map[string]int{}
	for _, n := range []string{"vt-a1", "vt-a2", "vt-b1"} {
		pids[n] = node.InitPID(n)
	}
	samePIDs := func(t *testing.T, when string) {
		for n, p := range pids {
			if got := node.InitPID(n); got != p {
				t.Errorf("%s: node %s init pid %d -> %d: it was restarted or recreated", when, n, p, got)
			}
		}
	}

	t.Run("agent kill -9 and restart adopts", func(t *testing.T) {
		nodesFile := writeNodesFile(t, []DesiredNode{a1, a2, b1})
		status := filepath.Join(t.TempDir(), "status.json")
		args := []string{"agent", "--nodes", nodesFile, "--status", status, "--data-dir", data,
			"--image", image, "--libvirt-socket", lv.Socket, "--hostname", "hv-test", "--interval", "1m"}
		for round := 1; round <= 2; round++ {
			_ = os.Remove(status)
			p := exec.Command(vela, args...)
			p.Stderr = &logWriter{t: t, prefix: fmt.Sprintf("vela agent #%d: ", round)}
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			killed := false
			t.Cleanup(func() {
				if !killed {
					_ = p.Process.Kill()
					_ = p.Wait()
				}
			})
			waitStatus(t, ctx, status, []string{"vt-a1", "vt-a2", "vt-b1"})
			if round == 2 {
				// A node stopped behind the agent's back is started again at
				// once, from libvirt's event (the interval is a minute).
				if err := hv.Stop(ctx, "vt-a2"); err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(15 * time.Second)
				for node.InitPID("vt-a2") == 0 || node.InitPID("vt-a2") == pids["vt-a2"] {
					if time.Now().After(deadline) {
						t.Fatal("the agent did not restart vt-a2 within 15s of it stopping")
					}
					time.Sleep(50 * time.Millisecond) // polling interval
				}
				pids["vt-a2"] = node.InitPID("vt-a2")
				if out, err := dockerReady(ctx, addr(a2), certs); err != nil {
					t.Fatalf("vt-a2 after its restart: %v %s", err, out)
				}
			}
			if err := p.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = p.Wait()
			killed = true
			samePIDs(t, fmt.Sprintf("after kill -9 of agent #%d", round))
			if out, err := docker(ctx, addr(b1), certs, "info", "--format", "{{.ID}}"); err != nil {
				t.Errorf("node b1 after kill -9 of the agent: %v %s", err, out)
			}
		}
	})

	t.Run("libvirtd restart", func(t *testing.T) {
		if err := lv.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		if err := ag.Reconcile(ctx); err != nil {
			t.Fatalf("reconcile after libvirtd restart: %v", err)
		}
		samePIDs(t, "after libvirtd restart")
		if out, err := docker(ctx, addr(a1), certs, "info"); err != nil {
			t.Errorf("node a1 after libvirtd restart: %v %s", err, out)
		}
	})

	t.Run("hypervisor reboot", func(t *testing.T) {
		// What a reboot of a diskless (live) hypervisor leaves: no domain
		// at all (libvirt's definitions were in RAM) and no mounts; the
		// node's disk image is on the data disk. (An installed hypervisor
		// keeps the definition: the agent restart round covers a stopped,
		// defined domain.)
		if err := hv.Stop(ctx, "vt-b1"); err != nil {
			t.Fatal(err)
		}
		if err := hv.Undefine(ctx, "vt-b1"); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{mgr.Root("vt-b1"), mgr.Disk("vt-b1")} {
			if out, err := exec.Command("umount", p).CombinedOutput(); err != nil {
				t.Fatalf("umount %s: %v %s", p, err, out)
			}
		}
		if err := ag.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			out, err := docker(ctx, addr(b1), certs, "image", "ls", "-q", "vela/test")
			if err == nil && strings.TrimSpace(out) != "" {
				break // the node is back, with its disk's content
			}
			if time.Now().After(deadline) {
				t.Fatalf("node b1 after a simulated reboot: %v %q", err, out)
			}
			time.Sleep(100 * time.Millisecond) // polling interval
		}
	})

	t.Run("privileged mode change refused", func(t *testing.T) {
		s := a1.Spec.WithDefaults()
		s.Bridge = node.BridgeName(s.Tenant)
		s.Privileged = true
		_, err := mgr.Prepare(ctx, s, a1.TLS)
		if err == nil || !strings.Contains(err.Error(), "changing that is not supported; delete the node") {
			t.Errorf("Prepare of unprivileged a1 as privileged: %v", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		cp.takeReports()
		cp.desired = []DesiredNode{a1, b1}
		if err := ag.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(state, "vt-a2")); !os.IsNotExist(err) {
			t.Errorf("vt-a2's directory still exists: %v", err)
		}
		if node.InitPID("vt-a2") != 0 {
			t.Error("vt-a2 still runs")
		}
		r := cp.takeReports()
		if len(r) != 1 || r[0] != (NodeStatus{Name: "vt-a2", State: Deleted}) {
			t.Errorf("reports = %+v, want vt-a2 deleted", r)
		}
	})
}
