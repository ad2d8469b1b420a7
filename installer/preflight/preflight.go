package preflight

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"

	"github.com/vela-appliance/vela/installer/config"
)

// Host is what the checks read from the machine they run on.
type Host interface {
	Geteuid() int
	// InterfaceAddrs returns the addresses of an interface, or ErrNoInterface.
	InterfaceAddrs(name string) ([]netip.Prefix, error)
	// Routes returns the destinations of the host's IPv4 routes with the interface of each.
	Routes() ([]Route, error)
	// CanListen binds network/addr (udp or tcp) and releases it at once.
	CanListen(network, addr string) error
	FreeBytes(dir string) (uint64, error)
	MemAvailable() (uint64, error)
	LookPath(file string) (string, error)
	Stat(path string) error
}

// Route is one IPv4 route of the host.
type Route struct {
	Dst       netip.Prefix
	Interface string
}

// ErrNoInterface is returned by Host.InterfaceAddrs for a missing interface.
var ErrNoInterface = errors.New("no such interface")

// Options are the facts about the run that are not in the config.
type Options struct {
	StateDir string // where progress and secrets go
	ImageDir string // where boot artifacts are stored
	BaseDir  string // directory of the config file, for relative paths
}

// Result is the outcome of one check.
type Result struct {
	Check string `json:"check"`
	OK    bool   `json:"ok"`
	Warn  bool   `json:"warn,omitempty"` // failed, but the install can go on
	Msg   string `json:"message"`
	Fix   string `json:"fix,omitempty"`
}

// Failed returns the results that stop the install.
func Failed(rs []Result) []Result {
	var out []Result
	for _, r := range rs {
		if !r.OK && !r.Warn {
			out = append(out, r)
		}
	}
	return out
}

// Print writes one line per result.
func Print(w io.Writer, rs []Result) {
	for _, r := range rs {
		mark := "ok  "
		switch {
		case !r.OK && r.Warn:
			mark = "warn"
		case !r.OK:
			mark = "FAIL"
		}
		line := fmt.Sprintf("preflight %s %s: %s", mark, r.Check, r.Msg)
		if !r.OK && r.Fix != "" {
			line += "; " + r.Fix
		}
		fmt.Fprintln(w, line)
	}
}

// Run runs every check for the config on host h.
func Run(c *config.Config, o Options, h Host) []Result {
	var rs []Result
	add := func(r Result) { rs = append(rs, r) }
	add(checkRoot(h))
	if c.Lab != nil {
		add(checkLabBridge(c, h))
		add(checkLabSubnet(c, h))
		add(checkLabMemory(c, h))
	} else {
		add(checkInterface(c, h))
	}
	rs = append(rs, checkPorts(c, h)...)
	add(checkDisk(c, o, h))
	rs = append(rs, checkPrograms(c, h)...)
	rs = append(rs, checkFiles(c, o, h)...)
	return rs
}

func checkRoot(h Host) Result {
	r := Result{Check: "root", OK: h.Geteuid() == 0}
	if r.OK {
		r.Msg = "running as root"
	} else {
		r.Msg = "not running as root: the boot services need ports below 1024 and raw network access"
		r.Fix = "run it as root (sudo vela install ...)"
	}
	return r
}

func checkInterface(c *config.Config, h Host) Result {
	n := c.Network
	r := Result{Check: "interface"}
	want, _ := netip.ParsePrefix(n.Address)
	addrs, err := h.InterfaceAddrs(n.Interface)
	switch {
	case errors.Is(err, ErrNoInterface):
		r.Msg = fmt.Sprintf("interface %s does not exist", n.Interface)
		r.Fix = "set network.interface to one listed by `ip -br link`"
		return r
	case err != nil:
		r.Msg = fmt.Sprintf("reading interface %s: %v", n.Interface, err)
		r.Fix = "check that the interface is up"
		return r
	}
	for _, a := range addrs {
		if a.Addr() == want.Addr() {
			r.OK, r.Msg = true, fmt.Sprintf("%s has %s", n.Interface, want.Addr())
			return r
		}
	}
	r.Msg = fmt.Sprintf("%s does not have address %s (it has %v)", n.Interface, want.Addr(), addrs)
	r.Fix = fmt.Sprintf("add it (ip addr add %s dev %s) or fix network.address", n.Address, n.Interface)
	return r
}

func checkPorts(c *config.Config, h Host) []Result {
	p := c.Network.Ports
	type port struct {
		proto, what string
		num         int
	}
	ports := []port{{"udp", "TFTP", p.TFTP}, {"tcp", "HTTP", p.HTTP}}
	if c.Network.DHCP.Mode != config.DHCPOff {
		ports = append([]port{{"udp", "DHCP", p.DHCP}}, ports...)
	}
	var rs []Result
	for _, pt := range ports {
		r := Result{Check: "port " + pt.what}
		addr := fmt.Sprintf(":%d", pt.num)
		if err := h.CanListen(pt.proto, addr); err != nil {
			r.Msg = fmt.Sprintf("%s port %d is in use or not allowed: %v", pt.proto, pt.num, err)
			r.Fix = fmt.Sprintf("stop the other %s server on this host (`ss -lnp | grep :%d` shows it), or change network.ports", pt.what, pt.num)
		} else {
			r.OK, r.Msg = true, fmt.Sprintf("%s port %d is free", pt.proto, pt.num)
		}
		rs = append(rs, r)
	}
	return rs
}

// Disk space needed by the images of each OS, with room for one rebuild.
var diskNeed = map[string]uint64{config.ImageVelaOS: 6 << 30, config.ImageFCOS: 3 << 30, config.ImageCustom: 256 << 20}

func checkDisk(c *config.Config, o Options, h Host) Result {
	need := diskNeed[c.OS.Image]
	r := Result{Check: "disk"}
	dir := existingParent(o.ImageDir, h)
	free, err := h.FreeBytes(dir)
	if err != nil {
		r.Msg, r.Fix = fmt.Sprintf("cannot read free space of %s: %v", dir, err), "check the path"
		return r
	}
	if free < need {
		r.Msg = fmt.Sprintf("%s has %s free; %s images need %s", dir, gib(free), c.OS.Image, gib(need))
		r.Fix = "free space there or point the image store elsewhere (--image-dir)"
		return r
	}
	r.OK, r.Msg = true, fmt.Sprintf("%s free in %s", gib(free), dir)
	return r
}

func existingParent(dir string, h Host) string {
	for dir != "/" && dir != "." && h.Stat(dir) != nil {
		dir = filepath.Dir(dir)
	}
	return dir
}

func gib(n uint64) string { return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30)) }

func checkPrograms(c *config.Config, h Host) []Result {
	type prog struct{ name, pkg, why string }
	var need []prog
	if c.OS.Image == config.ImageVelaOS {
		need = append(need, prog{"debootstrap", "debootstrap", "to build vela-os"},
			prog{"mksquashfs", "squashfs-tools", "to build vela-os"})
	}
	if c.Lab != nil {
		need = append(need, prog{"qemu-system-x86_64", "qemu-system-x86", "to run the lab VMs"},
			prog{"ip", "iproute2", "to create the lab bridge"}, prog{"iptables", "iptables", "to let the lab bridge forward"})
	}
	var rs []Result
	for _, p := range need {
		r := Result{Check: "program " + p.name}
		if path, err := h.LookPath(p.name); err != nil {
			r.Msg = fmt.Sprintf("%s is missing (needed %s)", p.name, p.why)
			r.Fix = "apt-get install -y " + p.pkg
		} else {
			r.OK, r.Msg = true, path
		}
		rs = append(rs, r)
	}
	return rs
}

func checkFiles(c *config.Config, o Options, h Host) []Result {
	type file struct{ field, path string }
	var files []file
	if c.OS.Image == config.ImageCustom {
		files = append(files, file{"os.kernel", c.OS.Kernel}, file{"os.initramfs", c.OS.Initramfs})
		if c.OS.Rootfs != "" {
			files = append(files, file{"os.rootfs", c.OS.Rootfs})
		}
	}
	for i, s := range c.Butane {
		if s.Path != "" {
			files = append(files, file{fmt.Sprintf("butane[%d].path", i), s.Path})
		}
	}
	var rs []Result
	for _, f := range files {
		p := f.path
		if !filepath.IsAbs(p) {
			p = filepath.Join(o.BaseDir, p)
		}
		r := Result{Check: "file " + f.field}
		if err := h.Stat(p); err != nil {
			r.Msg, r.Fix = fmt.Sprintf("%s: %v", p, err), "fix "+f.field+" (relative paths start at the config file's directory)"
		} else {
			r.OK, r.Msg = true, p
		}
		rs = append(rs, r)
	}
	return rs
}
