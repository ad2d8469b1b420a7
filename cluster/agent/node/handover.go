package node

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CgroupRoot is where the host's cgroup hierarchies are mounted.
const CgroupRoot = "/sys/fs/cgroup"

// deviceRules are added to a privileged node's devices cgroup so that
// dockerd's runc can give nested containers Docker's default devices.
var deviceRules = []string{"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",
	"c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm"}

// Handover finishes a started node from the host side, which the node
// cannot do itself: it gives the node's root user its cgroups (so dockerd
// inside can create nested cgroups under the node's limits), lowers the OOM
// priority of the node's init (so the kernel kills a nested container before
// the node's dockerd), then lets the node's init continue. It waits for the
// init to be up, and is a no-op for a node already handed over, so the agent
// calls it after every start and on adoption.
func (m *Manager) Handover(ctx context.Context, s Spec) error {
	pid, err := waitInit(ctx, s.Name)
	if err != nil {
		return err
	}
	rundir := fmt.Sprintf("/proc/%d/root/run/vela", pid)
	marker := filepath.Join(rundir, "cgroup-ready")
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	if err := poll(ctx, func() bool { _, err := os.Stat(rundir); return err == nil }); err != nil {
		return fmt.Errorf("node %q: init (pid %d) did not create /run/vela: %w", s.Name, pid, err)
	}
	owner := IDMapBase
	if s.Privileged {
		owner = 0
	}
	ctrls, err := delegate(pid, owner, s.Privileged)
	if err != nil {
		return fmt.Errorf("node %q: hand cgroups over: %w", s.Name, err)
	}
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid), []byte("-900"), 0); err != nil {
		// Hosts without CAP_SYS_RESOURCE (some sandboxes) refuse this: the
		// kernel then picks the largest process, normally the culprit.
		m.log.Warn("cannot lower the OOM priority of the node's init", "node", s.Name, "err", err)
	}
	if err := writeAs(marker, []byte(strings.Join(ctrls, " ")+"\n"), owner); err != nil {
		return fmt.Errorf("node %q: signal init: %w", s.Name, err)
	}
	return nil
}

// writeAs writes a file as host uid/gid id: a tmpfs mounted inside a node's
// user namespace refuses files owned by ids it does not map (EOVERFLOW).
// The file is written under a temporary name and renamed, so the node never
// sees it half written.
func writeAs(path string, data []byte, id int) error {
	errc := make(chan error, 1)
	go func() {
		// fsuid is per thread: this thread is discarded, not reused.
		runtime.LockOSThread()
		syscall.Setfsgid(id)
		syscall.Setfsuid(id)
		tmp := path + ".tmp"
		err := os.WriteFile(tmp, data, 0o644)
		if err == nil {
			err = os.Rename(tmp, path)
		}
		errc <- err
	}()
	return <-errc
}

// InitPID returns the host PID of a running node's init, or 0: the PID 1 of
// a PID namespace whose environment names the domain and whose parent is
// libvirt's LXC controller (a dying init of a previous boot is skipped).
func InitPID(name string) int {
	ents, _ := os.ReadDir("/proc")
	want := []byte("LIBVIRT_LXC_NAME=" + name + "\x00")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil || !isNSInit(st) || statusField(st, "State:") == "Z" {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil || !bytes.Contains(append(env, 0), want) {
			continue
		}
		ppid, _ := strconv.Atoi(statusField(st, "PPid:"))
		if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", ppid)); err == nil &&
			bytes.Contains(cmd, []byte("libvirt_lxc\x00")) && bytes.Contains(cmd, []byte("\x00"+name+"\x00")) {
			return pid
		}
	}
	return 0
}

// statusField returns the first word after key in /proc/PID/status.
func statusField(status []byte, key string) string {
	for _, l := range strings.Split(string(status), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == key {
			return f[1]
		}
	}
	return ""
}

// isNSInit tells from /proc/PID/status whether the process is PID 1 of a
// child PID namespace.
func isNSInit(status []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 2 && f[0] == "NSpid:" {
			return f[len(f)-1] == "1"
		}
	}
	return false
}

func waitInit(ctx context.Context, name string) (int, error) {
	var pid int
	err := poll(ctx, func() bool { pid = InitPID(name); return pid != 0 })
	if err != nil {
		return 0, fmt.Errorf("node %q: its init process did not appear (%v); is the domain running?: %w", name, err, ErrNotReady)
	}
	return pid, nil
}

// delegate chowns the cgroups of process pid to owner. On cgroup v1 it
// returns the controllers the node has its own cgroup in (init mounts only
// those); on v2 it returns nil.
func delegate(pid, owner int, privileged bool) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return nil, err
	}
	var ctrls []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 || f[2] == "/" {
			continue
		}
		var dir string
		if f[1] == "" { // v2
			if _, err := os.Stat(filepath.Join(CgroupRoot, "cgroup.controllers")); err != nil {
				continue // hybrid host: the v2 tree is not used for limits
			}
			dir = filepath.Join(CgroupRoot, f[2])
		} else {
			if strings.HasPrefix(f[1], "name=") {
				continue
			}
			ctrl := f[1]
			dir = filepath.Join(CgroupRoot, ctrl, f[2])
			if _, err := os.Stat(dir); err != nil {
				// comounted controllers such as cpu,cpuacct
				continue
			}
			if ctrl == "devices" && privileged {
				for _, r := range deviceRules {
					if err := os.WriteFile(filepath.Join(dir, "devices.allow"), []byte(r), 0); err != nil {
						return nil, fmt.Errorf("devices.allow %q: %w", r, err)
					}
				}
			}
			ctrls = append(ctrls, ctrl)
		}
		if err := chownTree(dir, owner); err != nil {
			return nil, err
		}
	}
	return ctrls, nil
}

func chownTree(dir string, owner int) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := os.Lchown(p, owner, owner); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}

// poll checks cond every 20ms until it holds or ctx ends.
func poll(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// ErrNotReady: the node runs but its dockerd did not answer in time. It is
// temporary (a first start on a slow or busy machine); the agent retries.
var ErrNotReady = errors.New("dockerd not ready yet")

// WaitReady waits until the node's dockerd accepts TCP connections on its
// TLS port (it says nothing of TLS itself: the client's certificates are the
// tenant's). Not listening by ctx's end is ErrNotReady.
func (m *Manager) WaitReady(ctx context.Context, s Spec) error {
	addr := net.JoinHostPort(s.Address.Addr().String(), strconv.Itoa(DockerPort))
	var last error
	err := poll(ctx, func() bool {
		d := net.Dialer{Timeout: time.Second}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			last = err
			return false
		}
		c.Close()
		return true
	})
	if err != nil {
		return fmt.Errorf("node %q: dockerd does not listen on %s (%v); its init log is /proc/<init pid>/root/run/vela/init.log: %w", s.Name, addr, last, ErrNotReady)
	}
	return nil
}
