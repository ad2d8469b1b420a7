package httpboot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vela-appliance/vela/pxe"
)

// Image is the files of one bootable image; Rootfs may be "".
type Image struct {
	Kernel, Initramfs, Rootfs string
}

// Config configures a Server.
type Config struct {
	Inventory pxe.Inventory
	Tokens    *Tokens
	// BaseURL is how machines reach this server: http://ADDR:PORT (no slash).
	BaseURL string
	// Images maps an image name (vela-os, fcos, custom) to its files.
	Images map[string]Image
	// IgnitionDir holds the rendered configs, one <machine>.ign each.
	IgnitionDir string
	// Configs, when set, gives the machines' Ignition configs instead of
	// IgnitionDir (the control plane renders them once per machine).
	Configs ConfigSource
	// SecretsDir holds one-time secrets, SecretsDir/<machine>/<name>,
	// served once at /secrets/{mac}/{name} ("" serves 404).
	SecretsDir string
	// VelaBinary is served at /vela/vela ("" serves 404).
	VelaBinary string
	// IPXEDir holds the iPXE binaries served at /ipxe/{file} (IPXEFiles
	// only; "" serves 404): the TFTP root.
	IPXEDir string
	// LeaseIP, when set, tells which IPv4 address DHCP gave a MAC; a script
	// or Ignition request for that MAC from another address is refused.
	LeaseIP func(mac string) (netip.Addr, bool)
	// OnState receives machine boot states (may be nil).
	OnState    pxe.StateFunc
	Registerer prometheus.Registerer
	// Gatherer serves /metrics; nil serves Registerer if it is a Gatherer.
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
}

// ConfigSource gives a machine's rendered Ignition config.
type ConfigSource interface {
	Config(ctx context.Context, m pxe.Machine) ([]byte, error)
}

// Server is the HTTP boot server.
type Server struct {
	cfg  Config
	log  *slog.Logger
	mux  *http.ServeMux
	m    metrics
	sums sync.Map // rootfs path -> sha256 hex (computed once)
}

// New checks the config and builds the handler.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Inventory == nil:
		return nil, errors.New("httpboot: no inventory")
	case cfg.Tokens == nil:
		return nil, errors.New("httpboot: no boot tokens")
	case !strings.HasPrefix(cfg.BaseURL, "http://"):
		return nil, fmt.Errorf("httpboot: base URL %q must start with http:// (Debian's iPXE has no HTTPS)", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.OnState == nil {
		cfg.OnState = func(_, _, _, _ string) {}
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("service", "http"), mux: http.NewServeMux(), m: newMetrics()}
	if cfg.Registerer != nil {
		if err := s.m.register(cfg.Registerer); err != nil {
			return nil, err
		}
	}
	g := cfg.Gatherer
	if g == nil {
		g, _ = cfg.Registerer.(prometheus.Gatherer)
	}
	if g != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	}
	s.mux.HandleFunc("GET /boot.ipxe", s.wrap("script", s.bootScript))
	s.mux.HandleFunc("GET /images/{image}/{file}", s.wrap("image", s.image))
	s.mux.HandleFunc("GET /ignition/{mac}", s.wrap("ignition", s.ignition))
	s.mux.HandleFunc("GET /vela/vela", s.wrap("vela", s.velaBinary))
	s.mux.HandleFunc("GET "+IPXEURLPath+"{file}", s.wrap("ipxe", s.ipxe))
	s.mux.HandleFunc("POST /report/{mac}", s.wrap("report", s.report))
	s.mux.HandleFunc("GET /secrets/{mac}/{name}", s.wrap("secret", s.secret))
	return s, nil
}

// Handler returns the HTTP handler of all routes.
func (s *Server) Handler() http.Handler { return s.mux }

// Serve serves on ln until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http boot server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	<-errc
	return nil
}

// client is what a request says about the machine sending it.
func client(r *http.Request, mac string) pxe.Client {
	ip := ""
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		ip = ap.Addr().Unmap().String()
	}
	return pxe.Client{MAC: pxe.NormalizeMAC(mac), UUID: strings.ToLower(r.URL.Query().Get("uuid")), Arch: r.URL.Query().Get("arch"), IP: ip}
}

// fromLeaseHolder tells whether the request comes from the address DHCP
// leased to mac (true when no lease is known: proxy mode, static setups).
func (s *Server) fromLeaseHolder(c pxe.Client) bool {
	if s.cfg.LeaseIP == nil {
		return true
	}
	want, ok := s.cfg.LeaseIP(c.MAC)
	if !ok {
		return true
	}
	got, err := netip.ParseAddr(c.IP)
	return err == nil && got == want
}
