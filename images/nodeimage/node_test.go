package nodeimage

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/store"
)

// TestNodeStartsDockerdWithTLS runs the node image the way a hypervisor
// does, minus libvirt: the image as the read-only lower layer of an overlay,
// its own network namespace (a veth the test creates), mount/PID/UTS/IPC
// namespaces and its own cgroups, /sbin/vela-node-init as PID 1. dockerd
// must answer /_ping on its TLS port with a client certificate and refuse a
// client without one. (cluster/agent tests the same image under libvirtd.)
func TestNodeStartsDockerdWithTLS(t *testing.T) {
	need(t)
	for _, tool := range []string{"ip", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found", tool)
		}
	}
	st, err := store.New(store.Config{Dir: envOr(images.EnvStoreDir, images.DefaultStoreDir)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	res, err := New(Config{Store: st, CacheDir: envOr(images.EnvCacheDir, images.DefaultCacheDir), Recipe: DefaultRecipe()}).Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lower := filepath.Join(st.VersionDir(images.Node, res.Manifest.Version), Artifact)

	var rnd [3]byte
	rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:])
	work := t.TempDir()
	merged := overlay(t, lower, work)
	hostIP, nodeIP := netnsWithVeth(t, id)

	// TLS material the agent would write.
	ca, caKey := newCA(t)
	writePEM(t, filepath.Join(merged, TLSDir, "ca.pem"), "CERTIFICATE", ca.Raw)
	cert, key := newCert(t, ca, caKey, "node", []net.IP{net.ParseIP(nodeIP)}, x509.ExtKeyUsageServerAuth)
	writePEM(t, filepath.Join(merged, TLSDir, "cert.pem"), "CERTIFICATE", cert)
	writePEM(t, filepath.Join(merged, TLSDir, "key.pem"), "EC PRIVATE KEY", key)
	ccert, ckey := newCert(t, ca, caKey, "tenant", nil, x509.ExtKeyUsageClientAuth)
	_ = hostIP

	cgroups := ownCgroups(t, "vela-nodetest-"+id)
	data := filepath.Join(work, "docker-data")
	os.MkdirAll(data, 0o700)
	script := `set -e
for d in $VELA_CG; do echo $$ > "$d/cgroup.procs"; done
exec ip netns exec "$VELA_NS" unshare --mount --pid --fork --uts --ipc --propagation private sh -c '
	mount --rbind /dev "$VELA_ROOT/dev"
	mount --bind "$VELA_DATA" "$VELA_ROOT/var/lib/docker"
	exec chroot "$VELA_ROOT" /sbin/vela-node-init'`
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "VELA_CG="+strings.Join(cgroups, " "), "VELA_NS=vela-nt-"+id, "VELA_ROOT="+merged, "VELA_DATA="+data)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var console strings.Builder
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			console.WriteString(sc.Text() + "\n")
		}
	}()
	exited := make(chan struct{}) // closed when the node's process tree is gone
	var exitErr error
	go func() { <-consoleDone; exitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// SIGTERM reaches dockerd through tini; SIGKILL if it lingers.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	clientCert := tls.Certificate{Certificate: [][]byte{ccert}, PrivateKey: ckey}
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{clientCert}}}}
	url := "https://" + net.JoinHostPort(nodeIP, fmt.Sprint(DockerPort))
	deadline := time.Now().Add(90 * time.Second)
	var ready time.Duration
	for {
		resp, err := client.Get(url + "/_ping")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && string(b) == "OK" {
				ready = time.Since(start)
				break
			}
		}
		select {
		case <-exited:
			t.Fatalf("node init exited (%v) before dockerd answered:\n%s", exitErr, console.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("dockerd never answered %s/_ping: %v\n%s", url, err, console.String())
		}
	}
	resp, err := client.Get(url + "/info")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"CgroupDriver"`) {
		t.Errorf("docker /info: %s", b)
	}
	anon := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if resp, err := anon.Get(url + "/_ping"); err == nil {
		resp.Body.Close()
		t.Errorf("dockerd answered a client without a certificate (HTTP %d)", resp.StatusCode)
	}
	// Containment: dockerd and containerd run inside the node's own cgroups.
	for _, d := range cgroups {
		if n := countTasks(d); n < 2 {
			t.Errorf("cgroup %s holds %d task(s); dockerd escaped the node's cgroup", d, n)
		}
	}
	t.Logf("node start -> dockerd answering TLS /_ping: %s", ready.Round(time.Millisecond))
}

// overlay mounts lower read-only under a fresh upper in work; unmounted at cleanup.
func overlay(t *testing.T, lower, work string) string {
	t.Helper()
	up, wk, merged := filepath.Join(work, "upper"), filepath.Join(work, "work"), filepath.Join(work, "merged")
	for _, d := range []string{up, wk, merged} {
		os.MkdirAll(d, 0o755)
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, up, wk)
	if err := syscall.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Fatalf("mount overlay: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(merged, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", merged, err)
		}
	})
	return merged
}

// netnsWithVeth makes network namespace vela-nt-ID joined to the host by a
// veth pair on 10.231.x.0/30; deleted at cleanup.
func netnsWithVeth(t *testing.T, id string) (hostIP, nodeIP string) {
	t.Helper()
	ns, h, n := "vela-nt-"+id, "vnth"+id, "vntn"+id
	x := int(id[0])%200 + 20
	hostIP, nodeIP = fmt.Sprintf("10.231.%d.1", x), fmt.Sprintf("10.231.%d.2", x)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	run("netns", "add", ns)
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", h).Run()
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v %s", ns, err, out)
		}
	})
	run("link", "add", h, "type", "veth", "peer", "name", n)
	run("link", "set", n, "netns", ns)
	run("addr", "add", hostIP+"/30", "dev", h)
	run("link", "set", h, "up")
	run("-n", ns, "addr", "add", nodeIP+"/30", "dev", n)
	run("-n", ns, "link", "set", n, "up")
	run("-n", ns, "link", "set", "lo", "up")
	run("-n", ns, "route", "add", "default", "via", hostIP)
	return hostIP, nodeIP
}

// ownCgroups makes a child cgroup named name under this process's cgroup in
// every v1 hierarchy (and the v2 one when the host is pure v2) and removes
// it, with whatever dockerd made below it, at cleanup.
func ownCgroups(t *testing.T, name string) []string {
	t.Helper()
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	var dirs []string
	for _, l := range strings.Split(strings.TrimSpace(string(self)), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		mp := cgroupMount(string(mounts), f[1])
		if mp == "" {
			continue
		}
		d := filepath.Join(mp, f[2], name)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatalf("cgroup %s: %v", d, err)
		}
		dirs = append(dirs, d)
		// A new v1 cpuset cgroup has no CPUs or memory nodes until given some.
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if b, err := os.ReadFile(filepath.Join(filepath.Dir(d), f)); err == nil {
				if err := os.WriteFile(filepath.Join(d, f), b, 0o644); err != nil {
					t.Fatalf("cgroup %s: %v", filepath.Join(d, f), err)
				}
			}
		}
	}
	t.Cleanup(func() {
		for _, d := range dirs {
			removeCgroupTree(t, d)
		}
	})
	return dirs
}

// cgroupMount finds where the hierarchy with controllers ctrls ("" for v2) is mounted.
func cgroupMount(mountinfo, ctrls string) string {
	for _, l := range strings.Split(mountinfo, "\n") {
		i := strings.Index(l, " - ")
		if i < 0 {
			continue
		}
		f, tail := strings.Fields(l[:i]), strings.Fields(l[i+3:])
		if len(f) < 5 || len(tail) < 3 {
			continue
		}
		switch {
		case ctrls == "" && tail[0] == "cgroup2" && f[4] == "/sys/fs/cgroup":
			return f[4]
		case ctrls != "" && tail[0] == "cgroup":
			opts := "," + tail[2] + ","
			all := true
			for _, c := range strings.Split(ctrls, ",") {
				all = all && strings.Contains(opts, ","+c+",")
			}
			if all {
				return f[4]
			}
		}
	}
	return ""
}

// countTasks counts the processes in dir and the cgroups below it.
func countTasks(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "cgroup.procs" {
			b, _ := os.ReadFile(p)
			n += len(strings.Fields(string(b)))
		}
		return nil
	})
	return n
}

func removeCgroupTree(t *testing.T, dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			removeCgroupTree(t, filepath.Join(dir, e.Name()))
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := syscall.Rmdir(dir)
		if err == nil || os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("remove cgroup %s: %v", dir, err)
			return
		}
		time.Sleep(50 * time.Millisecond) // the kernel frees a cgroup after its last task exits
	}
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vela test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func newCert(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, ips []net.IP, use x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, IPAddresses: ips,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{use}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func writePEM(t *testing.T, path, typ string, der any) {
	t.Helper()
	var b []byte
	switch v := der.(type) {
	case []byte:
		b = v
	case *ecdsa.PrivateKey:
		var err error
		if b, err = x509.MarshalECPrivateKey(v); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Dir(path), 0o700)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
		t.Fatal(err)
	}
}
