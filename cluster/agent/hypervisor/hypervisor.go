package hypervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

// DefaultSocket is libvirtd's read-write socket on a standard host.
const DefaultSocket = "/run/libvirt/libvirt-sock"

// ErrNotFound is returned when a domain does not exist.
var ErrNotFound = errors.New("domain not found")

// State is what libvirt says a domain is doing, reduced to what the agent needs.
type State string

// Domain states.
const (
	Running  State = "running"
	Shutoff  State = "shutoff"
	Paused   State = "paused"
	Crashed  State = "crashed"
	Starting State = "starting" // blocked or no state yet
	Other    State = "other"
)

// Domain is one libvirt domain as listed.
type Domain struct {
	Name  string
	UUID  string
	State State
}

// HostInfo is what the host offers and runs.
type HostInfo struct {
	CPUs           int
	MemoryBytes    uint64
	LibvirtVersion string // e.g. 9.0.0
	DriverVersion  string // the hypervisor's version; for LXC the kernel, e.g. 6.1.0
}

// Config configures a Client.
type Config struct {
	// Socket is libvirtd's read-write Unix socket; default DefaultSocket.
	Socket string
	// URI is the driver to open, default lxc:///system; test:///default
	// opens libvirt's built-in fake driver.
	URI string
	// CallTimeout bounds every call that has no earlier context deadline;
	// default 30s.
	CallTimeout time.Duration
	// DialTimeout bounds connecting to the socket; default 5s.
	DialTimeout time.Duration
	Logger      *slog.Logger
}

// Client is a connection to one libvirt driver that reconnects on demand.
// It is safe for concurrent use.
type Client struct {
	cfg Config
	log *slog.Logger

	mu sync.Mutex
	lv *libvirt.Libvirt // nil or disconnected: dial on next call
}

// New returns a Client; it connects lazily on the first call.
func New(cfg Config) *Client {
	if cfg.Socket == "" {
		cfg.Socket = DefaultSocket
	}
	if cfg.URI == "" {
		cfg.URI = "lxc:///system"
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Client{cfg: cfg, log: cfg.Logger.With("libvirt", cfg.URI)}
}

// Close disconnects from libvirtd.
func (c *Client) Close() error {
	c.mu.Lock()
	lv := c.lv
	c.lv = nil
	c.mu.Unlock()
	if lv == nil || !lv.IsConnected() {
		return nil
	}
	return lv.Disconnect()
}

// conn returns a connected handle, dialing if there is none or the last one
// was lost (libvirtd restarted).
func (c *Client) conn(ctx context.Context) (*libvirt.Libvirt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lv != nil && c.lv.IsConnected() {
		return c.lv, nil
	}
	lv, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	if c.lv != nil {
		c.log.Info("reconnected to libvirtd")
	}
	c.lv = lv
	return lv, nil
}

// dial opens a new connection to the driver under ctx's deadline.
func (c *Client) dial(ctx context.Context) (*libvirt.Libvirt, error) {
	lv := libvirt.NewWithDialer(dialers.NewLocal(
		dialers.WithSocket(c.cfg.Socket), dialers.WithLocalTimeout(c.cfg.DialTimeout)))
	errc := make(chan error, 1)
	go func() { errc <- lv.ConnectToURI(libvirt.ConnectURI(c.cfg.URI)) }()
	select {
	case err := <-errc:
		if err != nil {
			return nil, fmt.Errorf("connect to libvirtd at %s (%s): %w; is libvirtd running?", c.cfg.Socket, c.cfg.URI, err)
		}
		return lv, nil
	case <-ctx.Done():
		go func() {
			if <-errc == nil {
				_ = lv.Disconnect()
			}
		}()
		return nil, fmt.Errorf("connect to libvirtd at %s (%s): %w", c.cfg.Socket, c.cfg.URI, ctx.Err())
	}
}

// drop forgets lv (if it is still the current handle) and closes its socket,
// so that the next call dials again.
func (c *Client) drop(lv *libvirt.Libvirt) {
	c.mu.Lock()
	if c.lv == lv {
		c.lv = nil
	}
	c.mu.Unlock()
	go func() { _ = lv.Disconnect() }()
}

// call runs fn against a live connection under a deadline. When the deadline
// passes the connection is dropped (a hung libvirtd must not hang the agent).
// When the connection was lost during fn and the call is idempotent, it is
// retried once on a fresh connection.
func (c *Client) call(ctx context.Context, what string, idempotent bool, fn func(*libvirt.Libvirt) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.CallTimeout)
		defer cancel()
	}
	for attempt := 0; ; attempt++ {
		lv, err := c.conn(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		errc := make(chan error, 1)
		go func() { errc <- fn(lv) }()
		select {
		case err = <-errc:
		case <-ctx.Done():
			c.drop(lv)
			return fmt.Errorf("%s: libvirtd did not answer in time: %w", what, ctx.Err())
		}
		if err == nil {
			return nil
		}
		if !lv.IsConnected() || isConnError(err) {
			c.drop(lv)
			if idempotent && attempt == 0 {
				c.log.Warn("libvirt connection lost; retrying", "call", what, "err", err)
				continue
			}
			return fmt.Errorf("%s: connection to libvirtd lost: %w; retry", what, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
}

func isConnError(err error) bool {
	if errors.Is(err, libvirt.ErrInterrupted) || errors.Is(err, syscall.EINVAL) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "broken pipe") || strings.Contains(s, "connection reset") ||
		strings.Contains(s, "use of closed network connection")
}
