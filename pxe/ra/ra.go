package ra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
)

// Config configures an Advertiser.
type Config struct {
	Interface string        // the boot network interface (required)
	Interval  time.Duration // unsolicited advertisements; default 10s
	Logger    *slog.Logger
}

// Advertiser sends router advertisements on one interface.
type Advertiser struct {
	cfg  Config
	ifi  *net.Interface
	conn *icmp.PacketConn
	pc   *ipv6.PacketConn
	msg  []byte
	log  *slog.Logger
}

var (
	allNodes   = &net.IPAddr{IP: net.ParseIP("ff02::1")}
	allRouters = &net.IPAddr{IP: net.ParseIP("ff02::2")}
)

// Message builds the advertisement: hop limit 64, no flags, router lifetime
// 0 (not a default router), and the source link-layer address option.
func Message(mac net.HardwareAddr) []byte {
	b := []byte{134, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if len(mac) == 6 {
		b = append(b, 1, 1)
		b = append(b, mac...)
	}
	return b
}

// New opens a raw ICMPv6 socket on the interface (needs root or CAP_NET_RAW).
func New(cfg Config) (*Advertiser, error) {
	if cfg.Interval == 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ifi, err := net.InterfaceByName(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("router advertisements: interface %q: %w", cfg.Interface, err)
	}
	conn, err := icmp.ListenPacket("ip6:ipv6-icmp", "::")
	if err != nil {
		return nil, fmt.Errorf("router advertisements on %s: %w (needs root; or disable them with --no-ra and expect iPXE to wait ~13 s)", cfg.Interface, err)
	}
	a := &Advertiser{cfg: cfg, ifi: ifi, conn: conn, pc: conn.IPv6PacketConn(), msg: Message(ifi.HardwareAddr), log: cfg.Logger.With("service", "ra", "interface", cfg.Interface)}
	var f ipv6.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv6.ICMPTypeRouterSolicitation)
	for _, step := range []func() error{
		func() error { return a.pc.SetICMPFilter(&f) },
		func() error { return a.pc.SetMulticastHopLimit(255) },
		func() error { return a.pc.SetHopLimit(255) },
		func() error { return a.pc.SetMulticastInterface(ifi) },
		func() error { return a.pc.SetMulticastLoopback(false) },
		func() error { return a.pc.JoinGroup(ifi, allRouters) },
		func() error { return a.pc.SetControlMessage(ipv6.FlagInterface, true) },
	} {
		if err := step(); err != nil {
			conn.Close()
			return nil, fmt.Errorf("router advertisements on %s: %w", cfg.Interface, err)
		}
	}
	return a, nil
}

// Run advertises until ctx ends, then closes the socket.
func (a *Advertiser) Run(ctx context.Context) error {
	solicited := make(chan struct{}, 1)
	go a.listen(ctx, solicited)
	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	defer a.conn.Close()
	a.send()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-solicited:
		}
		a.send()
	}
}

func (a *Advertiser) send() {
	cm := &ipv6.ControlMessage{HopLimit: 255, IfIndex: a.ifi.Index}
	if _, err := a.pc.WriteTo(a.msg, cm, &net.IPAddr{IP: allNodes.IP, Zone: a.ifi.Name}); err != nil {
		a.log.Debug("sending a router advertisement failed (retried later)", "err", err)
	}
}

func (a *Advertiser) listen(ctx context.Context, solicited chan<- struct{}) {
	buf := make([]byte, 1500)
	for {
		n, cm, _, err := a.pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if n < 8 || buf[0] != 133 || (cm != nil && cm.IfIndex != a.ifi.Index) {
			continue
		}
		select {
		case solicited <- struct{}{}:
		default:
		}
	}
}
