package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"github.com/insomniacslk/dhcp/iana"
	"golang.org/x/sys/unix"
)

// dhcpClients is one UDP socket on port 68 shared by all simulated clients;
// replies (broadcast) are dispatched to the waiting client by transaction ID.
type dhcpClients struct {
	conn    net.PacketConn
	mu      sync.Mutex
	waiting map[dhcpv4.TransactionID]chan *dhcpv4.DHCPv4
}

func newDHCPClients(iface string) (*dhcpClients, error) {
	conn, err := server4.NewIPv4UDPConn(iface, &net.UDPAddr{Port: dhcpv4.ClientPort})
	if err != nil {
		return nil, err
	}
	growBuffer(conn) // one socket receives every client's replies
	d := &dhcpClients{conn: conn, waiting: map[dhcpv4.TransactionID]chan *dhcpv4.DHCPv4{}}
	go d.read()
	return d, nil
}

func (d *dhcpClients) read() {
	buf := make([]byte, 2048)
	for {
		n, _, err := d.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		m, err := dhcpv4.FromBytes(buf[:n])
		if err != nil || m.OpCode != dhcpv4.OpcodeBootReply {
			continue
		}
		d.mu.Lock()
		ch := d.waiting[m.TransactionID]
		d.mu.Unlock()
		if ch != nil {
			select {
			case ch <- m:
			default:
			}
		}
	}
}

// exchange sends req and waits for a reply of one of the types, retrying
// like iPXE (1, 2, 4, 8, 8, 8 s, each +-0.5 s at random as RFC 2131 asks).
func (d *dhcpClients) exchange(ctx context.Context, req *dhcpv4.DHCPv4, want ...dhcpv4.MessageType) (*dhcpv4.DHCPv4, error) {
	ch := make(chan *dhcpv4.DHCPv4, 4)
	d.mu.Lock()
	d.waiting[req.TransactionID] = ch
	d.mu.Unlock()
	defer func() { d.mu.Lock(); delete(d.waiting, req.TransactionID); d.mu.Unlock() }()
	dst := &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ServerPort}
	for try, wait := 0, time.Second; try < 6; try, wait = try+1, min(2*wait, 8*time.Second) {
		if _, err := d.conn.WriteTo(req.ToBytes(), dst); err != nil {
			return nil, err
		}
		t := time.NewTimer(wait + time.Duration(mrand.Int64N(int64(time.Second))) - time.Second/2)
		for done := false; !done; {
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
				done = true
			case m := <-ch:
				for _, w := range want {
					if m.MessageType() == w {
						t.Stop()
						return m, nil
					}
				}
			}
		}
	}
	return nil, fmt.Errorf("no %v after 6 tries (31 s)", want)
}

// dora gets a lease as firmware PXE (ipxe=false) or as iPXE (user class).
func (d *dhcpClients) dora(ctx context.Context, mac net.HardwareAddr, ipxe bool) (*dhcpv4.DHCPv4, error) {
	mods := []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC)),
		dhcpv4.WithBroadcast(true),
	}
	if ipxe {
		mods = append(mods, dhcpv4.WithGeneric(dhcpv4.OptionUserClassInformation, []byte("iPXE")))
	}
	disc, err := dhcpv4.NewDiscovery(mac, mods...)
	if err != nil {
		return nil, err
	}
	offer, err := d.exchange(ctx, disc, dhcpv4.MessageTypeOffer)
	if err != nil {
		return nil, fmt.Errorf("discover: %w", err)
	}
	req, err := dhcpv4.NewRequestFromOffer(offer, mods...)
	if err != nil {
		return nil, err
	}
	ack, err := d.exchange(ctx, req, dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak)
	if err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	if ack.MessageType() != dhcpv4.MessageTypeAck {
		return nil, fmt.Errorf("request: NAK")
	}
	return ack, nil
}

// growBuffer gives conn a 4 MiB receive buffer (as root, past rmem_max).
func growBuffer(conn net.PacketConn) {
	if raw, err := conn.(*net.UDPConn).SyscallConn(); err == nil {
		raw.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20) })
	}
}
