package tftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/pin/tftp/v3"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Server. Zero values take the defaults noted.
type Config struct {
	// Root is the directory served (required).
	Root string
	// Addr is the UDP listen address; default ":69".
	Addr string
	// BlockSize is the largest blksize granted; default 1468 (fits MTU 1500).
	BlockSize int
	// Window is how many blocks are sent ahead of the acks; default 8; 1 disables.
	// (pin/tftp resends the whole window after Timeout when one block or ack
	// is lost, so a big window costs more under loss than it saves.)
	Window uint
	// WindowBudget bounds the blocks sent ahead across all transfers; while
	// Active x Window exceeds it, new transfers go lockstep (RFC 1350), so a
	// crowd of clients does not overflow queues; default 256.
	WindowBudget int
	// MaxTransfers bounds concurrent transfers (~25 KB each); default 1024.
	// More are refused with a TFTP error ("server busy").
	MaxTransfers int
	// Timeout is the per-packet round-trip timeout; default 2s.
	Timeout time.Duration
	// Retries per window before a transfer is abandoned; default 10.
	Retries int
	// Observe is called after each transfer ends (err nil on success).
	Observe func(client netip.Addr, file string, bytes int64, err error)
	// Identify names the machine at a client address for the logs (optional).
	Identify func(client netip.Addr) (machine, mac string)
	// Registerer receives the metrics; nil registers none.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Server serves Config.Root read-only over TFTP.
type Server struct {
	cfg  Config
	root *os.Root
	srv  *tftp.Server
	sem  chan struct{}
	log  *slog.Logger
	m    metrics
}

type metrics struct {
	transfers *prometheus.CounterVec
	bytes     prometheus.Counter
	active    prometheus.Gauge
}

// New opens the served directory and prepares a server.
func New(cfg Config) (*Server, error) {
	if cfg.Root == "" {
		return nil, errors.New("tftp: no directory to serve; set Config.Root")
	}
	root, err := os.OpenRoot(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("tftp: open directory to serve: %w", err)
	}
	def(&cfg.Addr, ":69")
	def(&cfg.BlockSize, 1468)
	def(&cfg.Window, 8)
	def(&cfg.MaxTransfers, 1024)
	def(&cfg.WindowBudget, 256)
	def(&cfg.Timeout, 2*time.Second)
	def(&cfg.Retries, 10)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, root: root, sem: make(chan struct{}, cfg.MaxTransfers), log: cfg.Logger.With("service", "tftp")}
	s.m = metrics{
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vela_pxe_tftp_transfers_total", Help: "TFTP read requests by result."}, []string{"result"}),
		bytes:     prometheus.NewCounter(prometheus.CounterOpts{Name: "vela_pxe_tftp_bytes_total", Help: "Bytes sent over TFTP."}),
		active:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "vela_pxe_tftp_active_transfers", Help: "TFTP transfers in progress."}),
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{s.m.transfers, s.m.bytes, s.m.active} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("tftp: register metrics: %w", err)
			}
		}
	}
	s.srv = tftp.NewServer(s.read, nil)
	s.srv.SetBlockSize(cfg.BlockSize)
	s.srv.SetTimeout(cfg.Timeout)
	s.srv.SetRetries(cfg.Retries)
	if cfg.Window > 1 {
		s.srv.SetAnticipate(cfg.Window)
	}
	return s, nil
}

// Active returns the number of transfers in progress.
func (s *Server) Active() int { return len(s.sem) }

// Serve answers on conn until ctx ends, then waits for transfers in progress
// (each bounded by Timeout x Retries) and closes the served directory.
func (s *Server) Serve(ctx context.Context, conn net.PacketConn) error {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			s.srv.Shutdown()
		case <-done:
		}
	}()
	err := s.srv.Serve(conn)
	close(done)
	s.root.Close()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// ListenAndServe listens on Config.Addr and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	conn, err := net.ListenPacket("udp4", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("tftp: listen on %s: %w (is another TFTP server running, or are you not root?)", s.cfg.Addr, err)
	}
	return s.Serve(ctx, conn)
}

func (s *Server) read(name string, rf io.ReaderFrom) error {
	client := netip.Addr{}
	if ot, ok := rf.(tftp.OutgoingTransfer); ok {
		ua := ot.RemoteAddr()
		client, _ = netip.AddrFromSlice(ua.IP)
		client = client.Unmap()
	}
	log := s.log.With("client", client.String(), "file", name)
	if s.cfg.Identify != nil {
		machine, mac := s.cfg.Identify(client)
		log = log.With("machine", machine, "mac", mac)
	}
	select {
	case s.sem <- struct{}{}:
	default:
		s.m.transfers.WithLabelValues("busy").Inc()
		log.Warn("tftp transfer refused: too many transfers at once", "max", s.cfg.MaxTransfers)
		return fmt.Errorf("server busy (%d transfers), retry", s.cfg.MaxTransfers)
	}
	s.m.active.Inc()
	s.adjustWindow()
	defer func() { <-s.sem; s.m.active.Dec(); s.adjustWindow() }()
	start := time.Now()
	n, err := s.send(name, rf)
	s.m.bytes.Add(float64(n))
	result := "ok"
	if err != nil {
		result = "error"
		log.Warn("tftp transfer failed", "bytes", n, "err", err)
	} else {
		log.Info("tftp transfer done", "bytes", n, "duration", time.Since(start))
	}
	s.m.transfers.WithLabelValues(result).Inc()
	if s.cfg.Observe != nil {
		s.cfg.Observe(client, name, n, err)
	}
	return err
}

// adjustWindow sets the window of the transfers that start next.
func (s *Server) adjustWindow() {
	if s.cfg.Window <= 1 {
		return
	}
	w := s.cfg.Window
	if len(s.sem)*int(w) > s.cfg.WindowBudget {
		w = 1
	}
	s.srv.SetAnticipate(w)
}

func (s *Server) send(name string, rf io.ReaderFrom) (int64, error) {
	rel, err := Resolve(name)
	if err != nil {
		return 0, err
	}
	f, err := s.root.Open(rel)
	if err != nil {
		return 0, fmt.Errorf("file not found: %s", rel)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return 0, fmt.Errorf("not a file: %s", rel)
	}
	if ot, ok := rf.(tftp.OutgoingTransfer); ok {
		ot.SetSize(st.Size())
	}
	return rf.ReadFrom(f)
}

func def[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}
