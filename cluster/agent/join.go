package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/pki"
)

// Files of an agent's identity under its data dir.
const (
	PKIDir        = "pki"
	AgentCertFile = "agent.pem"
	AgentKeyFile  = "agent-key.pem"
)

// JoinConfig says how an agent gets its certificate.
type JoinConfig struct {
	// Server is the API of any member, HOST:PORT or https://HOST:PORT.
	Server string
	// CAPEM is the cluster CA certificate.
	CAPEM []byte
	// TokenFile holds an agent join token; read only on first start.
	TokenFile string
	// DataDir keeps the certificate and key (0600) under pki/.
	DataDir string
	// Name is the hypervisor's name (the certificate's CN).
	Name string
	// Address goes into the certificate as an IP SAN.
	Address string
}

// Credentials returns the agent's certificate: the one saved under the
// data dir, or, on first start, a new key whose certificate request is
// signed through POST /v1/join with the join token (then saved, so a
// restart needs no token).
func Credentials(ctx context.Context, cfg JoinConfig) (tls.Certificate, error) {
	dir := filepath.Join(cfg.DataDir, PKIDir)
	certPath, keyPath := filepath.Join(dir, AgentCertFile), filepath.Join(dir, AgentKeyFile)
	if _, err := os.Stat(certPath); err == nil {
		c, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			return c, fmt.Errorf("agent certificate in %s: %w; move the directory away and join again with a new token", dir, err)
		}
		if cn := c.Leaf.Subject.CommonName; cn != cfg.Name {
			return c, fmt.Errorf("data dir %s holds the certificate of hypervisor %q, not %q; pass --hostname %s or use another --data-dir", cfg.DataDir, cn, cfg.Name, cn)
		}
		return c, nil
	}
	if cfg.TokenFile == "" {
		return tls.Certificate{}, fmt.Errorf("no agent certificate in %s and no --token-file: issue a join token with `vela members token --role agent` and pass it with --token-file", dir)
	}
	b, err := os.ReadFile(cfg.TokenFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("read the join token: %w", err)
	}
	keyPEM, csr, err := pki.NewKeyAndCSR(cfg.Name)
	if err != nil {
		return tls.Certificate{}, err
	}
	c, err := client.New(client.Config{Server: cfg.Server, CAPEM: cfg.CAPEM, Retry: 30 * time.Second, Timeout: 15 * time.Second})
	if err != nil {
		return tls.Certificate{}, err
	}
	defer c.Close()
	req := api.JoinRequest{Token: strings.TrimSpace(string(b)), Name: cfg.Name, CSR: string(csr)}
	if cfg.Address != "" {
		req.IPs = []string{cfg.Address}
	}
	resp, err := c.Join(ctx, req)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("join the control plane at %s as hypervisor %q: %w", cfg.Server, cfg.Name, err)
	}
	if resp.Role != pki.RoleAgent {
		return tls.Certificate{}, fmt.Errorf("the join token is for role %q, not agent (and is now used); issue one with `vela members token --role agent`", resp.Role)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, err
	}
	if err := pki.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := pki.WriteFile(certPath, []byte(resp.Cert), 0o600); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair([]byte(resp.Cert), keyPEM)
}

// SourceAddress is this host's address on the route to server (no packet
// is sent): the default address a hypervisor registers.
func SourceAddress(server string) (string, error) {
	hostport := server
	if _, rest, ok := strings.Cut(server, "://"); ok {
		hostport = rest
	}
	hostport, _, _ = strings.Cut(hostport, "/")
	conn, err := net.Dial("udp", hostport)
	if err != nil {
		return "", fmt.Errorf("find this host's address towards %s: %w; pass --address", server, err)
	}
	defer conn.Close()
	a, ok := conn.LocalAddr().(*net.UDPAddr)
	if !ok {
		return "", errors.New("find this host's address: not a UDP address; pass --address")
	}
	return a.IP.String(), nil
}
