package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/vela-appliance/vela/images/libvirtimg"
	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/pxe"
	"github.com/vela-appliance/vela/pxe/dhcp"
	"github.com/vela-appliance/vela/pxe/httpboot"
	"github.com/vela-appliance/vela/pxe/internal/sockbuf"
	"github.com/vela-appliance/vela/pxe/inventory"
	"github.com/vela-appliance/vela/pxe/ra"
	"github.com/vela-appliance/vela/pxe/tftp"
)

// Config configures the boot services.
type Config struct {
	Install     *config.Config // loaded and valid
	ConfigDir   string         // directory of the config file (custom image paths)
	IgnitionDir string         // rendered <machine>.ign files
	SecretsDir  string         // one-time secrets, <machine>/<name> ("" none)
	StateDir    string         // leases, boot tokens, discovered machines
	ImagesDir   string         // image store: IMAGE/current/ARTIFACT or IMAGE/ARTIFACT
	TFTPRoot    string         // "" locates Debian's ipxe binaries
	VelaBinary  string         // served at /vela/vela; "" serves this executable
	NoRA        bool           // do not send IPv6 router advertisements
	// Inventory, when set, replaces the install config's (day-2: the
	// control plane's, pxe/cpinventory); Configs then gives the Ignition
	// configs instead of IgnitionDir.
	Inventory pxe.Inventory
	Configs   httpboot.ConfigSource
	// Leases, when set, keeps the DHCP pool leases (day-2: the replicated
	// state, so the next leader keeps them) instead of StateDir.
	Leases  dhcp.LeaseStore
	OnState pxe.StateFunc
	Logger  *slog.Logger
}

// Services are the boot services, listening, ready to Run.
type Services struct {
	cfg Config
	log *slog.Logger
	// Inventory is the install config's inventory (nil when Config.Inventory
	// replaced it).
	Inventory *inventory.Inventory
	inv       pxe.Inventory
	dhcp      *dhcp.Server
	dhcpConns []net.PacketConn
	tftp      *tftp.Server
	tftpConn  net.PacketConn
	http      *httpboot.Server
	httpLn    net.Listener
	ra        *ra.Advertiser
	// HTTPBase is the boot server URL machines use.
	HTTPBase string
}

// New builds the services and opens every socket, so that a caller may
// create them inside a network namespace and Run them from anywhere.
func New(cfg Config) (_ *Services, err error) {
	c := cfg.Install
	if c == nil {
		return nil, errors.New("pxe: no install config")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.OnState == nil {
		cfg.OnState = func(_, _, _, _ string) {}
	}
	if (cfg.IgnitionDir == "" && cfg.Configs == nil) || cfg.StateDir == "" {
		return nil, errors.New("pxe: --ignition-dir and --state-dir are required")
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("pxe: state dir: %w", err)
	}
	prefix, err := netip.ParsePrefix(c.Network.Address)
	if err != nil {
		return nil, fmt.Errorf("pxe: network.address %q: %w", c.Network.Address, err)
	}
	serverIP := prefix.Addr()
	s := &Services{cfg: cfg, log: cfg.Logger, HTTPBase: "http://" + net.JoinHostPort(serverIP.String(), strconv.Itoa(c.Network.Ports.HTTP))}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.inv = cfg.Inventory
	if s.inv == nil {
		if s.Inventory, err = inventory.New(inventory.Config{Install: c, StateDir: cfg.StateDir}); err != nil {
			return nil, err
		}
		s.inv = s.Inventory
	}
	images, err := imageFiles(cfg)
	if err != nil {
		return nil, err
	}
	var leaseIP func(string) (netip.Addr, bool)
	if c.Network.DHCP.Mode != config.DHCPOff {
		if err := s.newDHCP(prefix, reg); err != nil {
			return nil, err
		}
		leaseIP = s.dhcp.LeaseIP
	}
	root := cfg.TFTPRoot
	if root == "" {
		if root, err = tftp.LocateIPXE(); err != nil {
			return nil, err
		}
	}
	if s.tftp, err = tftp.New(tftp.Config{Root: root, Registerer: reg, Logger: cfg.Logger, Identify: s.identify}); err != nil {
		return nil, err
	}
	tftpAddr := net.JoinHostPort(serverIP.String(), strconv.Itoa(c.Network.Ports.TFTP))
	if s.tftpConn, err = net.ListenPacket("udp4", tftpAddr); err != nil {
		return nil, fmt.Errorf("pxe: tftp: listen on %s: %w (is %s configured on %s? is another TFTP server running?)", tftpAddr, err, serverIP, c.Network.Interface)
	}
	sockbuf.Grow(s.tftpConn)
	tokens, err := httpboot.NewTokens(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	vela := cfg.VelaBinary
	if vela == "" {
		vela, _ = os.Executable()
	}
	if s.http, err = httpboot.New(httpboot.Config{Inventory: s.inv, Tokens: tokens, BaseURL: s.HTTPBase, Images: images,
		IgnitionDir: cfg.IgnitionDir, Configs: cfg.Configs, SecretsDir: cfg.SecretsDir, VelaBinary: vela, IPXEDir: root, LeaseIP: leaseIP, OnState: cfg.OnState, Registerer: reg, Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	httpAddr := net.JoinHostPort(serverIP.String(), strconv.Itoa(c.Network.Ports.HTTP))
	if s.httpLn, err = net.Listen("tcp4", httpAddr); err != nil {
		return nil, fmt.Errorf("pxe: http: listen on %s: %w (is %s configured on %s?)", httpAddr, err, serverIP, c.Network.Interface)
	}
	if !cfg.NoRA {
		if s.ra, err = ra.New(ra.Config{Interface: c.Network.Interface, Logger: cfg.Logger}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Services) newDHCP(prefix netip.Prefix, reg prometheus.Registerer) error {
	c := s.cfg.Install
	dc := dhcp.Config{Mode: c.Network.DHCP.Mode, Interface: c.Network.Interface, ServerIP: prefix.Addr(), Subnet: prefix.Masked(),
		LeaseTime: time.Duration(c.Network.DHCP.LeaseTime), HTTPBase: s.HTTPBase, Inventory: s.inv, StateDir: s.cfg.StateDir, Leases: s.cfg.Leases,
		Port: c.Network.Ports.DHCP, OnState: s.cfg.OnState, Registerer: reg, Logger: s.cfg.Logger}
	if r, err := config.ParseRange(c.Network.DHCP.Pool); err == nil {
		dc.PoolFirst, dc.PoolLast = r.First, r.Last
	}
	if c.Network.Gateway != "" {
		dc.Router, _ = netip.ParseAddr(c.Network.Gateway)
	}
	for _, d := range c.Network.DNS {
		if a, err := netip.ParseAddr(d); err == nil && a.Is4() {
			dc.DNS = append(dc.DNS, a)
		}
	}
	var err error
	if s.dhcp, err = dhcp.New(dc); err != nil {
		return err
	}
	s.dhcpConns, err = s.dhcp.Listen()
	return err
}

// imageFiles finds the configured image's files; a missing one is an error
// now rather than a failed boot later.
func imageFiles(cfg Config) (map[string]httpboot.Image, error) {
	o := cfg.Install.OS
	if o.Image == config.ImageCustom {
		rel := func(p string) string {
			if p == "" || filepath.IsAbs(p) {
				return p
			}
			return filepath.Join(cfg.ConfigDir, p)
		}
		img := httpboot.Image{Kernel: rel(o.Kernel), Initramfs: rel(o.Initramfs), Rootfs: rel(o.Rootfs)}
		for _, p := range []string{img.Kernel, img.Initramfs, img.Rootfs} {
			if _, err := os.Stat(p); p != "" && err != nil {
				return nil, fmt.Errorf("pxe: custom image file: %w; fix os.kernel/os.initramfs/os.rootfs", err)
			}
		}
		return map[string]httpboot.Image{config.ImageCustom: img}, nil
	}
	find := func(artifact string) string {
		for _, p := range []string{filepath.Join(cfg.ImagesDir, o.Image, "current", artifact), filepath.Join(cfg.ImagesDir, o.Image, artifact)} {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p
			}
		}
		return ""
	}
	img := httpboot.Image{Kernel: find("kernel"), Initramfs: find("initramfs"), Rootfs: find("rootfs")}
	if img.Kernel == "" || img.Initramfs == "" {
		return nil, fmt.Errorf("pxe: image %s has no kernel and initramfs under %s; build or import it first (vela images ...), or pass --images-dir",
			o.Image, filepath.Join(cfg.ImagesDir, o.Image))
	}
	out := map[string]httpboot.Image{o.Image: img}
	// The node image packed for hypervisors, when the installer made it or
	// a member keeps a copy: Ignition fetches it from /images/node/rootfs.
	if p := NodeImage(cfg.ImagesDir); p != "" {
		out["node"] = httpboot.Image{Rootfs: p}
	}
	// The libvirtd container image Fedora CoreOS hypervisors podman-load:
	// /images/libvirtd/rootfs (a docker-archive tarball).
	if p := filepath.Join(cfg.ImagesDir, libvirtimg.Image, "current", libvirtimg.Artifact); o.Image == config.ImageFCOS && fileIsRegular(p) {
		out[libvirtimg.Image] = httpboot.Image{Rootfs: p}
	}
	return out, nil
}

func fileIsRegular(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// identify names the machine at a boot network address for TFTP logs:
// its reservation, or the MAC DHCP leased the address to.
func (s *Services) identify(ip netip.Addr) (machine, mac string) {
	for _, m := range s.cfg.Install.Machines {
		if a, err := netip.ParseAddr(m.Address); err == nil && a == ip {
			return m.Name, config.NormalizeMAC(m.MAC)
		}
	}
	if s.dhcp == nil {
		return "", ""
	}
	mac, _ = s.dhcp.MACOf(ip)
	if m, err := s.inv.Lookup(context.Background(), pxe.Client{MAC: mac}); err == nil {
		machine = m.Name
	}
	return machine, mac
}

// Run serves until ctx ends or a service fails.
func (s *Services) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	if s.dhcp != nil {
		g.Go(func() error { return s.dhcp.Serve(ctx, s.dhcpConns...) })
	}
	g.Go(func() error { return s.tftp.Serve(ctx, s.tftpConn) })
	g.Go(func() error { return s.http.Serve(ctx, s.httpLn) })
	if s.ra != nil {
		g.Go(func() error { return s.ra.Run(ctx) })
	}
	s.log.Info("boot services running", "http", s.HTTPBase, "dhcp", s.cfg.Install.Network.DHCP.Mode, "interface", s.cfg.Install.Network.Interface, "ra", s.ra != nil)
	return g.Wait()
}

// close releases sockets when New fails half-way.
func (s *Services) close() {
	for _, c := range s.dhcpConns {
		c.Close()
	}
	if s.tftpConn != nil {
		s.tftpConn.Close()
	}
	if s.httpLn != nil {
		s.httpLn.Close()
	}
}
