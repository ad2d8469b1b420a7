package dhcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"

	"github.com/vela-appliance/vela/pxe/internal/sockbuf"
)

// Listen opens the server's sockets: port 67 (Config.Port) and, in proxy
// mode, port 4011, bound to Config.Interface when set.
func (s *Server) Listen() ([]net.PacketConn, error) {
	ports := []int{s.cfg.Port}
	if s.cfg.Mode == ModeProxy {
		ports = append(ports, ProxyPort)
	}
	var conns []net.PacketConn
	for _, p := range ports {
		c, err := server4.NewIPv4UDPConn(s.cfg.Interface, &net.UDPAddr{Port: p})
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, fmt.Errorf("dhcp: listen on %s port %d: %w (needs root; is another DHCP server running there?)", s.cfg.Interface, p, err)
		}
		sockbuf.Grow(c)
		conns = append(conns, c)
	}
	return conns, nil
}

// Serve answers on conns until ctx ends; it closes them. Each conn's local
// port tells proxy (4011) from the DHCP port.
func (s *Server) Serve(ctx context.Context, conns ...net.PacketConn) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(conns)+1)
	for _, c := range conns {
		port := c.LocalAddr().(*net.UDPAddr).Port
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- s.loop(ctx, c, port)
		}()
	}
	wg.Add(1)
	go func() { // persist lease changes at most once a second (file and LeaseStore)
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.leases.flush(); err != nil {
					s.log.Error("saving leases failed", "err", err)
				}
				s.syncLeases(ctx)
			}
		}
	}()
	<-ctx.Done()
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	close(errc)
	last, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	s.syncLeases(last) // a leader stepping down may no longer commit: best effort
	cancel()
	if err := s.leases.flush(); err != nil {
		return err
	}
	for err := range errc {
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) loop(ctx context.Context, c net.PacketConn, port int) error {
	buf := make([]byte, 4096)
	for {
		n, peer, err := c.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("dhcp: read: %w", err)
		}
		req, err := dhcpv4.FromBytes(buf[:n])
		if err != nil {
			s.m.WithLabelValues("malformed", "ignored").Inc()
			continue
		}
		reply := s.Handle(ctx, req, port)
		if reply == nil {
			continue
		}
		if _, err := c.WriteTo(reply.ToBytes(), s.destination(req, reply, peer, port)); err != nil {
			s.log.Warn("sending a DHCP reply failed", "mac", req.ClientHWAddr.String(), "err", err)
		}
	}
}

// destination follows RFC 2131 4.1: relay, then a client that has an
// address, else broadcast (we do not inject ARP entries for unicast).
func (s *Server) destination(req, reply *dhcpv4.DHCPv4, peer net.Addr, port int) net.Addr {
	if port == ProxyPort {
		return peer
	}
	if gw := addr(req.GatewayIPAddr); gw.IsValid() {
		return &net.UDPAddr{IP: gw.AsSlice(), Port: dhcpv4.ServerPort}
	}
	if ci := addr(req.ClientIPAddr); ci.IsValid() && reply.MessageType() != dhcpv4.MessageTypeNak {
		return &net.UDPAddr{IP: ci.AsSlice(), Port: dhcpv4.ClientPort}
	}
	return &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort}
}
