package store

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// tlsLayer is a raft.StreamLayer over mutual TLS: both sides present a
// certificate of the cluster CA (checked by the tls.Config).
type tlsLayer struct {
	net.Listener
	advertise net.Addr
	client    *tls.Config
	// source, when the bind address is a specific IP, is used as the
	// source of dialled connections too, so firewalls (and the fault
	// harness) see Raft traffic come from the member's own address.
	source net.Addr
}

func (l *tlsLayer) Addr() net.Addr { return l.advertise }

func (l *tlsLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout, LocalAddr: l.source}, Config: l.client}
	return d.Dial("tcp", string(addr))
}

// TLSTransportConfig configures NewTLSTransport.
type TLSTransportConfig struct {
	// Bind is the listen address (IP:PORT); Advertise the address the other
	// members dial (defaults to Bind).
	Bind, Advertise string
	// Server and Client are the TLS configs for accepted and dialled
	// connections; both must require and verify the peer's certificate.
	Server, Client *tls.Config
}

// NewTLSTransport listens for Raft RPCs over mutual TLS.
func NewTLSTransport(cfg TLSTransportConfig) (*raft.NetworkTransport, error) {
	if cfg.Advertise == "" {
		cfg.Advertise = cfg.Bind
	}
	adv, err := net.ResolveTCPAddr("tcp", cfg.Advertise)
	if err != nil {
		return nil, fmt.Errorf("raft advertise address %q: %w", cfg.Advertise, err)
	}
	if adv.IP == nil || adv.IP.IsUnspecified() {
		return nil, fmt.Errorf("raft advertise address %q is not an address other members can dial; pass an IP", cfg.Advertise)
	}
	ln, err := tls.Listen("tcp", cfg.Bind, cfg.Server)
	if err != nil {
		return nil, fmt.Errorf("listen for raft on %s: %w", cfg.Bind, err)
	}
	layer := &tlsLayer{Listener: ln, advertise: adv, client: cfg.Client}
	if bind, err := net.ResolveTCPAddr("tcp", cfg.Bind); err == nil && bind.IP != nil && !bind.IP.IsUnspecified() {
		layer.source = &net.TCPAddr{IP: bind.IP}
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  layer,
		MaxPool: 8,
		Timeout: 5 * time.Second,
		Logger:  hclog.New(&hclog.LoggerOptions{Name: "raft-net", Level: hclog.Error, Output: os.Stderr}),
	}), nil
}
