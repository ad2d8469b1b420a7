package node

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vela-appliance/vela/images/idmap"
)

//go:embed init.sh
var initScript []byte

// TLS holds a node's dockerd TLS material, PEM encoded. The key never
// leaves the node's disk.
type TLS struct {
	CACert, Cert, Key []byte
}

// Config configures a Manager.
type Config struct {
	// StateDir holds one directory per node (disk image, mount points).
	StateDir string
	// Image is the node image: an unpacked root filesystem with dockerd,
	// tini, iptables and unshare, owned by host root. It is never written.
	Image string
	// AuthzBinary is the vela binary on the host; it is copied to the
	// shared tools directory and serves the tenant policy plugin
	// (vela agent authz) inside every node. Required.
	AuthzBinary string
	// DockerdArgs are extra dockerd flags for every node.
	DockerdArgs []string
	Logger      *slog.Logger
}

// Manager prepares and removes nodes' files and mounts on this host.
type Manager struct {
	cfg Config
	log *slog.Logger

	shiftMu sync.Mutex
}

// New checks cfg and returns a Manager.
func New(cfg Config) (*Manager, error) {
	if cfg.StateDir == "" || cfg.Image == "" {
		return nil, errors.New("node manager: StateDir and Image are required")
	}
	if _, err := os.Stat(filepath.Join(cfg.Image, "usr/sbin/dockerd")); err != nil {
		return nil, fmt.Errorf("node image %s has no usr/sbin/dockerd: %w; build or import the node image first", cfg.Image, err)
	}
	if cfg.AuthzBinary == "" {
		return nil, errors.New("node manager: AuthzBinary (the vela binary for the tenant policy plugin) is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// 0711: an unprivileged node's root (uid 100000) must traverse it.
	if err := os.MkdirAll(cfg.StateDir, 0o711); err != nil {
		return nil, fmt.Errorf("node state dir: %w", err)
	}
	m := &Manager{cfg: cfg, log: cfg.Logger}
	if err := m.traversable(); err != nil {
		return nil, err
	}
	if err := m.installTools(); err != nil {
		return nil, err
	}
	return m, nil
}

// Tools is the shared read-only directory mounted in every node.
func (m *Manager) Tools() string { return filepath.Join(m.cfg.StateDir, ".tools") }

// installTools copies the vela binary into the tools directory (replacing
// an older one atomically; running nodes keep the file they opened).
func (m *Manager) installTools() error {
	dir := m.Tools()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	src, err := os.ReadFile(m.cfg.AuthzBinary)
	if err != nil {
		return fmt.Errorf("node manager: read the vela binary for nodes: %w", err)
	}
	tmp := filepath.Join(dir, ".vela.tmp")
	if err := os.WriteFile(tmp, src, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "vela"))
}

// Dir is the node's directory; Root its root filesystem mount point; Disk
// the mount point of its disk image.
func (m *Manager) Dir(name string) string  { return filepath.Join(m.cfg.StateDir, name) }
func (m *Manager) Root(name string) string { return filepath.Join(m.Dir(name), "rootfs") }
func (m *Manager) Disk(name string) string { return filepath.Join(m.Dir(name), "disk") }

// Prepare makes the node's disk, root filesystem, init and TLS files ready
// (creating what is missing, mounting what is not mounted, so it also
// restores a node after a hypervisor reboot) and returns its domain XML.
func (m *Manager) Prepare(ctx context.Context, s Spec, tls TLS) (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	owner := IDMapBase
	lower := m.cfg.Image
	if s.Privileged {
		owner = 0
		if idmap.ShiftedBy(lower) != 0 {
			return "", fmt.Errorf("node %q is privileged, but the node image %s is packed for unprivileged nodes (owned by uid %d and up); run the agent with --image pointing to an unshifted node image tree (`vela images build node` makes one)", s.Name, lower, idmap.ShiftedBy(lower))
		}
	} else {
		var err error
		if lower, err = m.shiftedImage(ctx); err != nil {
			return "", err
		}
	}
	dir, disk, root := m.Dir(s.Name), m.Disk(s.Name), m.Root(s.Name)
	img := filepath.Join(dir, "disk.img")
	for _, d := range []string{dir, disk, root} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return "", fmt.Errorf("node %q: %w", s.Name, err)
		}
	}
	// The disk's ownership follows the mode the node was created in.
	mode := "unprivileged"
	if s.Privileged {
		mode = "privileged"
	}
	modeFile := filepath.Join(dir, "mode")
	if b, err := os.ReadFile(modeFile); err == nil && strings.TrimSpace(string(b)) != mode {
		return "", fmt.Errorf("node %q was created %s and is now asked to be %s: changing that is not supported; delete the node and create it again",
			s.Name, strings.TrimSpace(string(b)), mode)
	} else if errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(modeFile, []byte(mode+"\n"), 0o600); err != nil {
			return "", fmt.Errorf("node %q: %w", s.Name, err)
		}
	}
	if _, err := os.Stat(img); errors.Is(err, os.ErrNotExist) {
		if err := makeDisk(ctx, img, s.DiskBytes, owner); err != nil {
			return "", fmt.Errorf("node %q: disk: %w", s.Name, err)
		}
	}
	if !mounted(disk) {
		if err := run(ctx, "mount", "-o", "loop,nosuid,nodev", img, disk); err != nil {
			return "", fmt.Errorf("node %q: mount disk: %w", s.Name, err)
		}
	}
	for _, d := range []string{"upper", "work", "docker"} {
		p := filepath.Join(disk, d)
		if err := os.MkdirAll(p, 0o711); err != nil {
			return "", fmt.Errorf("node %q: %w", s.Name, err)
		}
		if d != "work" {
			if err := os.Lchown(p, owner, owner); err != nil {
				return "", err
			}
		}
	}
	if !mounted(root) {
		opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower,
			filepath.Join(disk, "upper"), filepath.Join(disk, "work"))
		if err := run(ctx, "mount", "-t", "overlay", "overlay", "-o", opts, root); err != nil {
			return "", fmt.Errorf("node %q: mount root: %w", s.Name, err)
		}
	}
	env := fmt.Sprintf("DOCKER_PORT=%d\nDOCKERD_EXTRA_ARGS=%q\n", DockerPort, strings.Join(m.cfg.DockerdArgs, " "))
	files := []struct {
		path string
		mode os.FileMode
		data []byte
	}{
		{InitPath, 0o755, initScript},
		{"/etc/vela/node.env", 0o644, []byte(env)},
		{"/etc/vela/docker/ca.pem", 0o644, tls.CACert},
		{"/etc/vela/docker/cert.pem", 0o644, tls.Cert},
		{"/etc/vela/docker/key.pem", 0o600, tls.Key},
		{"/etc/hostname", 0o644, []byte(s.Name + "\n")},
	}
	for _, f := range files {
		if err := writeOwned(root, f.path, f.data, f.mode, owner); err != nil {
			return "", fmt.Errorf("node %q: %w", s.Name, err)
		}
	}
	return DomainXML(s, Paths{Root: root, Disk: disk, Tools: m.Tools()})
}

// Remove unmounts the node's root and disk and deletes its directory, disk
// image included. The domain must be stopped first.
func (m *Manager) Remove(ctx context.Context, name string) error {
	for _, p := range []string{m.Root(name), m.Disk(name)} {
		if mounted(p) {
			if err := run(ctx, "umount", p); err != nil {
				return fmt.Errorf("node %q: unmount %s: %w; is the node still running?", name, p, err)
			}
		}
	}
	if err := os.RemoveAll(m.Dir(name)); err != nil {
		return fmt.Errorf("node %q: remove files: %w", name, err)
	}
	return nil
}

// Nodes lists the nodes that have a directory here.
func (m *Manager) Nodes() ([]string, error) {
	ents, err := os.ReadDir(m.cfg.StateDir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func makeDisk(ctx context.Context, img string, size uint64, owner int) error {
	f, err := os.OpenFile(img, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(int64(size)); err != nil { // sparse: costs nothing until written
		f.Close()
		os.Remove(img)
		return err
	}
	f.Close()
	if err := run(ctx, "mkfs.ext4", "-q", "-F", "-m", "0", "-E",
		fmt.Sprintf("root_owner=%d:%d,lazy_itable_init=1,lazy_journal_init=1", owner, owner), img); err != nil {
		os.Remove(img)
		return err
	}
	return nil
}

// writeOwned writes a file inside root (through the mounted overlay) owned by
// the node's root user.
func writeOwned(root, path string, data []byte, mode os.FileMode, owner int) error {
	p := filepath.Join(root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	for d := filepath.Dir(p); strings.HasPrefix(d, filepath.Join(root, "etc/vela")); d = filepath.Dir(d) {
		_ = os.Lchown(d, owner, owner)
	}
	tmp := p + ".vela-tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	if err := os.Lchown(tmp, owner, owner); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func mounted(path string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && unescapeMount(f[4]) == path {
			return true
		}
	}
	return false
}

func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

func run(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// traversable gives "others" search (x) permission on the state dir and
// every directory above it: libvirt pivots an unprivileged node into its
// root as the node's root user (uid 100000 on the host), which must be able
// to walk the path (a 0700 /var/lib/vela made every node fail with
// "Failed to create .../rootfs/.oldroot: Permission denied"). Search
// without read lets nobody list the directories.
func (m *Manager) traversable() error {
	dir, err := filepath.Abs(m.cfg.StateDir)
	if err != nil {
		return err
	}
	for {
		st, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("node state dir: %w", err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			mode := st.Mode().Perm() | 0o001
			if err := os.Chmod(dir, mode); err != nil {
				return fmt.Errorf("unprivileged nodes need search permission on %s (chmod o+x %s): %w", dir, dir, err)
			}
			m.log.Info("made a directory traversable for unprivileged nodes", "dir", dir, "mode", fmt.Sprintf("%#o", mode))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}
