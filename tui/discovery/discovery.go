package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/pxe"
	"github.com/vela-appliance/vela/pxe/dhcp"
)

// MaxSeen bounds the record, so a flood of random MACs cannot grow it.
const MaxSeen = 1024

// Config configures a Listener.
type Config struct {
	Install *config.Config // defaulted: network.interface, network.address, ports.dhcp
	Port    int            // DHCP port; default Install.Network.Ports.DHCP (67)
	Logger  *slog.Logger
	Now     func() time.Time
}

// Listener records the PXE clients it hears. It is the pxe.Inventory of
// the proxy DHCP server it runs: it knows no machine.
type Listener struct {
	now  func() time.Time
	mu   sync.Mutex
	seen map[string]pxe.Discovered
	done chan struct{}
	err  error
}

var _ pxe.Inventory = (*Listener)(nil)

// Start listens on the boot network of cfg.Install until ctx ends.
func Start(ctx context.Context, cfg Config) (*Listener, error) {
	c := cfg.Install
	if c == nil {
		return nil, errors.New("discovery: no install config")
	}
	prefix, err := netip.ParsePrefix(c.Network.Address)
	if err != nil || !prefix.Addr().Is4() {
		return nil, fmt.Errorf("discovery: network.address %q is not an IPv4 address with a prefix; fix it on the boot network screen", c.Network.Address)
	}
	if _, err := net.InterfaceByName(c.Network.Interface); err != nil {
		hint := "pick an existing interface on the boot network screen"
		if c.Lab != nil {
			hint = "the install creates the lab bridge; the lab's machines are listed already"
		}
		return nil, fmt.Errorf("interface %q does not exist (%s)", c.Network.Interface, hint)
	}
	if cfg.Port == 0 {
		cfg.Port = c.Network.Ports.DHCP
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &Listener{now: cfg.Now, seen: map[string]pxe.Discovered{}, done: make(chan struct{})}
	srv, err := dhcp.New(dhcp.Config{
		Mode: dhcp.ModeProxy, Interface: c.Network.Interface, ServerIP: prefix.Addr(), Subnet: prefix.Masked(),
		HTTPBase:  "http://" + prefix.Addr().String() + ":" + strconv.Itoa(c.Network.Ports.HTTP),
		Inventory: l, Port: cfg.Port, Logger: cfg.Logger, Now: cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	conns, err := srv.Listen()
	if err != nil {
		return nil, fmt.Errorf("discovery on %s: %w", c.Network.Interface, err)
	}
	go func() {
		defer close(l.done)
		l.err = srv.Serve(ctx, conns...)
	}()
	return l, nil
}

// Wait returns when the listener has stopped (its context ended).
func (l *Listener) Wait() error {
	<-l.done
	return l.err
}

// Seen returns the machines heard so far, first seen first.
func (l *Listener) Seen() []pxe.Discovered {
	l.mu.Lock()
	defer l.mu.Unlock()
	return pxe.SortDiscovered(l.seen)
}

// Lookup knows no machine.
func (l *Listener) Lookup(context.Context, pxe.Client) (pxe.Machine, error) {
	return pxe.Machine{}, pxe.ErrUnknown
}

// Discover records a PXE client.
func (l *Listener) Discover(_ context.Context, c pxe.Client) error {
	mac := pxe.NormalizeMAC(c.MAC)
	if mac == "" {
		return fmt.Errorf("discovery: PXE client with no valid MAC (%q)", c.MAC)
	}
	now := l.now().UTC()
	l.mu.Lock()
	defer l.mu.Unlock()
	d, ok := l.seen[mac]
	if !ok {
		if len(l.seen) >= MaxSeen {
			return nil
		}
		d = pxe.Discovered{MAC: mac, FirstSeen: now}
	}
	if c.UUID != "" {
		d.UUID = c.UUID
	}
	if c.Arch != "" {
		d.Arch = c.Arch
	}
	if c.IP != "" {
		d.IP = c.IP
	}
	d.LastSeen = now
	l.seen[mac] = d
	return nil
}

// MarkInstalled is never called: the listener boots nothing.
func (l *Listener) MarkInstalled(context.Context, string) error { return nil }
