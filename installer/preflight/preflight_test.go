package preflight

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/vela-appliance/vela/installer/config"
)

// fakeHost is a hand-written Host: a machine described by fields.
type fakeHost struct {
	euid     int
	ifaces   map[string][]netip.Prefix
	routes   []Route
	busy     map[string]bool // "udp:67"
	free     uint64
	mem      uint64
	programs map[string]bool
	files    map[string]bool
}

func healthyHost() *fakeHost {
	return &fakeHost{
		ifaces:   map[string][]netip.Prefix{"eth1": {netip.MustParsePrefix("10.20.0.1/24")}},
		routes:   []Route{{netip.MustParsePrefix("0.0.0.0/0"), "eth0"}, {netip.MustParsePrefix("192.168.1.0/24"), "eth0"}},
		busy:     map[string]bool{},
		free:     100 << 30,
		mem:      20 << 30,
		programs: map[string]bool{"debootstrap": true, "mksquashfs": true, "qemu-system-x86_64": true, "ip": true, "iptables": true},
		files:    map[string]bool{"/": true, "/var": true},
	}
}

func (h *fakeHost) Geteuid() int { return h.euid }
func (h *fakeHost) InterfaceAddrs(n string) ([]netip.Prefix, error) {
	a, ok := h.ifaces[n]
	if !ok {
		return nil, ErrNoInterface
	}
	return a, nil
}
func (h *fakeHost) Routes() ([]Route, error) { return h.routes, nil }
func (h *fakeHost) CanListen(network, addr string) error {
	if h.busy[network+addr] {
		return errors.New("address already in use")
	}
	return nil
}
func (h *fakeHost) FreeBytes(string) (uint64, error) { return h.free, nil }
func (h *fakeHost) MemAvailable() (uint64, error)    { return h.mem, nil }
func (h *fakeHost) LookPath(f string) (string, error) {
	if h.programs[f] {
		return "/usr/bin/" + f, nil
	}
	return "", errors.New("not found")
}
func (h *fakeHost) Stat(p string) error {
	if h.files[p] {
		return nil
	}
	return os.ErrNotExist
}

func example(t *testing.T, lab bool) *config.Config {
	cfg, _, diags := config.Parse("x", config.Example(lab))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

func TestChecks(t *testing.T) {
	opts := Options{StateDir: "/var/lib/vela/install", ImageDir: "/var/lib/vela/images", BaseDir: "/etc/vela"}
	for _, tc := range []struct {
		name  string
		lab   bool
		setup func(*fakeHost, *config.Config)
		want  []string // "check: message fragment" of each failure
	}{
		{"healthy rack", false, nil, nil},
		{"healthy lab", true, nil, nil},
		{"not root", false, func(h *fakeHost, _ *config.Config) { h.euid = 1000 }, []string{"root: not running as root"}},
		{"no interface", false, func(h *fakeHost, _ *config.Config) { delete(h.ifaces, "eth1") }, []string{"interface: interface eth1 does not exist"}},
		{"wrong address", false, func(h *fakeHost, _ *config.Config) {
			h.ifaces["eth1"] = []netip.Prefix{netip.MustParsePrefix("10.20.0.9/24")}
		}, []string{"interface: eth1 does not have address 10.20.0.1"}},
		{"ports busy", false, func(h *fakeHost, _ *config.Config) { h.busy["udp:67"], h.busy["tcp:80"] = true, true },
			[]string{"port DHCP: udp port 67 is in use", "port HTTP: tcp port 80 is in use"}},
		{"dhcp off skips port 67", false, func(h *fakeHost, c *config.Config) { h.busy["udp:67"] = true; c.Network.DHCP.Mode = config.DHCPOff }, nil},
		{"disk full", false, func(h *fakeHost, _ *config.Config) { h.free = 1 << 30 }, []string{"disk: /var has 1.0 GiB free; vela-os images need 6.0 GiB"}},
		{"no debootstrap", false, func(h *fakeHost, _ *config.Config) { delete(h.programs, "debootstrap") }, []string{"program debootstrap: debootstrap is missing"}},
		{"lab without qemu", true, func(h *fakeHost, _ *config.Config) { delete(h.programs, "qemu-system-x86_64") },
			[]string{"program qemu-system-x86_64: qemu-system-x86_64 is missing"}},
		{"lab subnet clash", true, func(h *fakeHost, _ *config.Config) {
			h.routes = append(h.routes, Route{netip.MustParsePrefix("10.77.0.0/16"), "wg0"})
		}, []string{"lab subnet: lab subnet 10.77.0.0/24 overlaps the host route 10.77.0.0/16 on wg0"}},
		{"lab bridge ours", true, func(h *fakeHost, _ *config.Config) {
			h.ifaces["vela-lab0"] = []netip.Prefix{netip.MustParsePrefix("10.77.0.1/24")}
			h.routes = append(h.routes, Route{netip.MustParsePrefix("10.77.0.0/24"), "vela-lab0"})
		}, nil},
		{"lab bridge someone else's", true, func(h *fakeHost, _ *config.Config) {
			h.ifaces["vela-lab0"] = []netip.Prefix{netip.MustParsePrefix("172.16.0.1/24")}
		}, []string{"lab bridge: an interface vela-lab0 exists without the lab address"}},
		{"lab memory", true, func(h *fakeHost, _ *config.Config) { h.mem = 8 << 30 }, []string{"lab memory: 3 VMs x 5GiB = 15.0 GiB, but only 8.0 GiB"}},
		{"custom files", false, func(h *fakeHost, c *config.Config) {
			c.OS = config.OS{Image: config.ImageCustom, Kernel: "vmlinuz", Initramfs: "/boot/initrd"}
			h.files["/etc/vela/vmlinuz"] = true
		}, []string{"file os.initramfs: /boot/initrd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, c := healthyHost(), example(t, tc.lab)
			if tc.setup != nil {
				tc.setup(h, c)
			}
			var got []string
			for _, r := range Failed(Run(c, opts, h)) {
				got = append(got, fmt.Sprintf("%s: %s", r.Check, r.Msg))
				if r.Fix == "" {
					t.Errorf("%s failed without a fix", r.Check)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("failures:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("got %q, want prefix %q", got[i], tc.want[i])
				}
			}
		})
	}
}

// TestSystemHost reads the real host: loopback exists, routes parse.
func TestSystemHost(t *testing.T) {
	var s System
	addrs, err := s.InterfaceAddrs("lo")
	if err != nil || len(addrs) == 0 || !addrs[0].Addr().IsLoopback() {
		t.Fatalf("lo: %v %v", addrs, err)
	}
	if _, err := s.InterfaceAddrs("no-such-if0"); !errors.Is(err, ErrNoInterface) {
		t.Errorf("missing interface: %v", err)
	}
	routes, err := s.Routes()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if !r.Dst.IsValid() || r.Interface == "" {
			t.Errorf("bad route %+v", r)
		}
	}
	if m, err := s.MemAvailable(); err != nil || m == 0 {
		t.Errorf("MemAvailable: %d %v", m, err)
	}
	if err := s.CanListen("tcp", "127.0.0.1:0"); err != nil {
		t.Error(err)
	}
}
