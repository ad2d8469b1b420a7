package hvtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Daemon is a running private libvirtd (with its virtlogd).
type Daemon struct {
	Dir    string // state root; the socket is Dir/run/libvirt-sock
	Socket string
	cmd    *exec.Cmd
	waited chan struct{}
	log    *os.File
	// virtlogd's PID, read once it started: virtlogd unlinks its pid file
	// when it exits, which may race with the next daemon's.
	virtlogd int
}

// script runs inside the new mount namespace: it hides the cgroup v2 mount
// that breaks LXC domain start, binds libvirt's state directories to DIR and
// starts virtlogd, then becomes libvirtd.
const script = `set -e
D="$1"
if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi
for p in run:/run/libvirt etc-lxc:/etc/libvirt/lxc lib:/var/lib/libvirt log:/var/log/libvirt; do
  src="$D/${p%%:*}"; dst="${p#*:}"
  mkdir -p "$src" "$dst"
  mount --bind "$src" "$dst"
done
mkdir -p /var/lib/libvirt/lxc /run/libvirt/lxc
virtlogd -d -p "$D/virtlogd.pid"
exec libvirtd -p "$D/libvirtd.pid"
`

// Missing reports which programs this host lacks to run a private libvirtd
// with the LXC driver, or "" when it has all.
func Missing() string {
	var miss []string
	for _, p := range []string{"libvirtd", "virtlogd", "unshare", "mountpoint"} {
		if _, err := exec.LookPath(p); err != nil {
			miss = append(miss, p)
		}
	}
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_lxc.so"); err != nil {
		miss = append(miss, "libvirt-daemon-driver-lxc")
	}
	if os.Geteuid() != 0 {
		miss = append(miss, "root")
	}
	return strings.Join(miss, ", ")
}

// Prepare makes the host able to run libvirtd's LXC driver: the libvirt-qemu
// user (libvirtd refuses to start without it) and shared mount propagation on
// / (so mounts the agent makes reach libvirtd's namespace). Idempotent.
func Prepare() error {
	if _, err := exec.Command("getent", "passwd", "libvirt-qemu").Output(); err != nil {
		_ = exec.Command("groupadd", "-r", "libvirt-qemu").Run()
		if out, err := exec.Command("useradd", "-r", "-g", "libvirt-qemu", "-M", "-s", "/usr/sbin/nologin", "libvirt-qemu").CombinedOutput(); err != nil {
			return fmt.Errorf("create user libvirt-qemu: %v: %s", err, out)
		}
	}
	if out, err := exec.Command("mount", "--make-rshared", "/").CombinedOutput(); err != nil {
		return fmt.Errorf("mount --make-rshared /: %v: %s", err, out)
	}
	return nil
}

// StartDaemon starts libvirtd with its state under dir and waits until its
// socket accepts connections.
func StartDaemon(ctx context.Context, dir string) (*Daemon, error) {
	if err := Prepare(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "libvirtd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	d := &Daemon{Dir: dir, Socket: filepath.Join(dir, "run", "libvirt-sock"), log: logf, waited: make(chan struct{})}
	_ = os.Remove(d.Socket)
	d.cmd = exec.Command("unshare", "-m", "--propagation", "slave", "sh", "-c", script, "sh", dir)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.Env = append(os.Environ(), "LIBVIRT_LOG_OUTPUTS=3:stderr")
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start libvirtd: %w", err)
	}
	go func() { _ = d.cmd.Wait(); close(d.waited) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.Dial("unix", d.Socket); err == nil {
			c.Close()
			d.virtlogd = readPID(filepath.Join(dir, "virtlogd.pid"))
			if d.virtlogd == 0 {
				d.Stop()
				return nil, errors.New("virtlogd did not write its pid file")
			}
			return d, nil
		}
		select {
		case <-d.waited:
			d.stopVirtlogd()
			logf.Close()
			b, _ := os.ReadFile(filepath.Join(dir, "libvirtd.log"))
			return nil, fmt.Errorf("libvirtd exited at start: %s", tail(string(b), 2000))
		case <-ctx.Done():
			d.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.Stop()
			return nil, errors.New("libvirtd socket did not appear within 20s; see " + logf.Name())
		}
	}
}

// PID is libvirtd's process id.
func (d *Daemon) PID() int { return d.cmd.Process.Pid }

// Stop terminates libvirtd and virtlogd (by PID) and waits for libvirtd to
// exit. Domains keep running (their libvirt_lxc controllers are separate
// processes); stop them first through the API if they must go.
func (d *Daemon) Stop() {
	select {
	case <-d.waited:
	default:
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.waited:
		case <-time.After(15 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.waited
		}
	}
	d.stopVirtlogd()
	d.log.Close()
}

func (d *Daemon) stopVirtlogd() {
	pid := d.virtlogd
	if pid == 0 {
		pid = readPID(filepath.Join(d.Dir, "virtlogd.pid"))
	}
	if pid <= 1 {
		return
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return
	}
	_ = p.Signal(syscall.SIGTERM)
	// Wait for it to go: it would otherwise unlink the next one's pid file.
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	if alive(pid) {
		_ = p.Signal(syscall.SIGKILL)
	}
	d.virtlogd = 0
}

// alive tells whether pid runs (a zombie waiting for its reaper does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

// Restart stops libvirtd and starts it again on the same state directory,
// the way an operator's `systemctl restart libvirtd` would.
func (d *Daemon) Restart(ctx context.Context) error {
	d.Stop()
	nd, err := StartDaemon(ctx, d.Dir)
	if err != nil {
		return err
	}
	*d = *nd
	return nil
}

// Start starts a private libvirtd for t under a fresh temporary directory
// and stops it when t ends. It skips t when the host lacks libvirt and CI is
// unset; in CI it fails instead.
func Start(t testing.TB) *Daemon {
	t.Helper()
	if miss := Missing(); miss != "" {
		if os.Getenv("CI") == "" {
			t.Skipf("needs %s (apt-get install libvirt-daemon libvirt-daemon-driver-lxc libvirt-clients; run as root)", miss)
		}
		t.Fatalf("CI is set but this host lacks %s", miss)
	}
	// Short path: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "vela-lv-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := StartDaemon(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Stop()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "libvirtd.log"))
			t.Logf("libvirtd log:\n%s", tail(string(b), 4000))
		}
		_ = os.RemoveAll(dir)
	})
	return d
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
