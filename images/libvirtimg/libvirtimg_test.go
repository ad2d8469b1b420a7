package libvirtimg

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/store"
)

func TestRecipeHash(t *testing.T) {
	a, b := DefaultRecipe(), DefaultRecipe()
	b.Packages = append(b.Packages, "vim")
	if a.Hash() == b.Hash() || a.Hash() != DefaultRecipe().Hash() {
		t.Error("recipe hash does not follow the recipe")
	}
}

func TestEntrypointParses(t *testing.T) {
	if out, err := exec.Command("sh", "-n", "files/vela-libvirtd").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// need skips without root or the tools, but only outside CI.
func need(t *testing.T, tools ...string) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("libvirtd image test needs %v (apt-get install debootstrap docker.io; run as root)", missing)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// TestImageLoadsIntoDocker builds the image (cached by recipe in the real
// store, like the other images), checks a second build is a no-op, then
// loads the tarball into a dockerd the test starts and runs it: once with
// `libvirtd --version`, once with its own command the way
// vela-libvirtd.service runs it under podman, until libvirtd answers virsh
// on the socket in the bind-mounted /run/libvirt.
func TestImageLoadsIntoDocker(t *testing.T) {
	need(t, "debootstrap", "unshare", "chroot", "dockerd", "docker")
	st, err := store.New(store.Config{Dir: envOr(images.EnvStoreDir, images.DefaultStoreDir)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cfg := Config{Store: st, CacheDir: envOr(images.EnvCacheDir, images.DefaultCacheDir), Recipe: DefaultRecipe()}
	res, err := New(cfg).Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s in %s (cached %v)", res.Manifest.Version, res.Took.Round(time.Millisecond), res.Cached)
	again, err := New(cfg).Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || again.Manifest.Version != res.Manifest.Version {
		t.Fatalf("second build: cached=%v version %s, want a no-op giving %s", again.Cached, again.Manifest.Version, res.Manifest.Version)
	}
	tarball, err := st.Path(Image, Artifact)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(tarball)
	t.Logf("second build %s; %s is %d MiB", again.Took.Round(time.Millisecond), Artifact, fi.Size()>>20)

	d := startDockerd(t)
	start := time.Now()
	out := d.docker(t, "load", "-i", tarball)
	if !strings.Contains(out, "Loaded image: "+Ref) {
		t.Fatalf("docker load: %s; want Loaded image: %s", out, Ref)
	}
	t.Logf("docker load took %s", time.Since(start).Round(time.Millisecond))
	id := strings.TrimSpace(d.docker(t, "image", "inspect", "--format", "{{.Id}}", Ref))
	if want := res.Manifest.Meta["image_id"]; id != want {
		t.Errorf("loaded image ID %s, manifest says %s", id, want)
	}
	out = d.docker(t, "run", "--rm", "--network", "none", Ref, "libvirtd", "--version")
	if want := "libvirtd (libvirt) " + res.Manifest.Meta["libvirt_version"]; !strings.Contains(out, want) {
		t.Fatalf("libvirtd --version in the image said %q, want %q", out, want)
	}

	// The service's way: privileged, its own command, /run/libvirt from the host.
	run := t.TempDir()
	name := fmt.Sprintf("vela-libvirtd-test-%d", os.Getpid())
	args := []string{"run", "-d", "--name", name, "--network", "none", "-v", run + ":/run/libvirt"}
	// Like --privileged, which asks for every capability and makes runc fail
	// where this host's bounding set lacks some (CAP_SYS_RESOURCE on some CI
	// VMs); docker ignores --cap-drop with --privileged.
	args = append(args, "--cap-add", "ALL", "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined")
	args = append(args, dropMissingCaps(t)...)
	d.docker(t, append(args, Ref)...)
	t.Cleanup(func() { exec.Command("docker", "-H", d.host, "rm", "-f", name).Run() })
	sock := filepath.Join(run, "libvirt-sock")
	start = time.Now()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command("docker", "-H", d.host, "logs", name).CombinedOutput()
			t.Fatalf("libvirtd did not listen on %s within 60 s; container log:\n%s", sock, logs)
		}
		d.waitOrExit(t, 100*time.Millisecond) // polling a socket with a deadline
	}
	t.Logf("libvirtd listening on the host's %s after %s", sock, time.Since(start).Round(time.Millisecond))
	out = d.docker(t, "exec", name, "virsh", "-c", "lxc:///system", "version")
	t.Logf("virsh -c lxc:///system version:\n%s", out)
	if !strings.Contains(out, "Using library: libvirt") || !strings.Contains(out, "Running hypervisor: LXC") {
		t.Errorf("virsh -c lxc:///system version in the container:\n%s", out)
	}
}

// dockerd is a private dockerd the test started.
type dockerd struct {
	dir, host string
	cmd       *exec.Cmd
	exited    chan struct{}
}

func startDockerd(t *testing.T) *dockerd {
	dir, err := os.MkdirTemp("", "vela-libvirtimg-dockerd-")
	if err != nil {
		t.Fatal(err)
	}
	d := &dockerd{dir: dir, host: "unix://" + filepath.Join(dir, "docker.sock"), exited: make(chan struct{})}
	d.cmd = exec.Command("dockerd", "--data-root", filepath.Join(dir, "data"), "--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"), "-H", d.host,
		"--bridge", "none", "--iptables=false", "--ip6tables=false", "--ip-masq=false")
	logf, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); logf.Close(); close(d.exited) }()
	t.Cleanup(func() { d.stop() })
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", filepath.Join(dir, "docker.sock"))
		}}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := client.Get("http://docker/_ping"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("dockerd not ready within 60 s:\n%s", d.log())
		}
		d.waitOrExit(t, 100*time.Millisecond) // polling a socket with a deadline
	}
}

// waitOrExit waits up to d for dockerd to exit and fails the test if it did.
func (d *dockerd) waitOrExit(t *testing.T, wait time.Duration) {
	t.Helper()
	select {
	case <-d.exited:
		t.Fatalf("dockerd exited:\n%s", d.log())
	case <-time.After(wait):
	}
}

func (d *dockerd) log() string {
	b, _ := os.ReadFile(filepath.Join(d.dir, "dockerd.log"))
	return string(b)
}

func (d *dockerd) docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", append([]string{"-H", d.host}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// stop stops the dockerd (by its PID; its process group if it hangs),
// unmounts what it left and removes its directory.
func (d *dockerd) stop() {
	select {
	case <-d.exited:
	default:
		syscall.Kill(d.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(30 * time.Second):
			syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
			<-d.exited
		}
	}
	exec.Command("sh", "-c", "grep -o ' "+d.dir+"[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l").Run()
	os.RemoveAll(d.dir)
}

// dropMissingCaps returns --cap-drop flags for the capabilities (0..40)
// missing from this process's bounding set.
func dropMissingCaps(t *testing.T) []string {
	names := map[int]string{24: "SYS_RESOURCE", 25: "SYS_TIME", 16: "SYS_MODULE", 38: "PERFMON", 39: "BPF", 40: "CHECKPOINT_RESTORE"}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var bnd uint64
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			bnd, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	var out []string
	for bit, name := range names {
		if bnd&(1<<bit) == 0 {
			out = append(out, "--cap-drop", name)
		}
	}
	return out
}
