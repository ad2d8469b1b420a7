package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
)

// Pool returns a cert pool holding the CA certificate PEM.
func Pool(caPEM []byte) (*x509.CertPool, error) {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no certificate in the CA PEM")
	}
	return p, nil
}

// PoolFromFile reads the CA certificate file.
func PoolFromFile(path string) (*x509.CertPool, []byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read CA certificate %s: %w", path, err)
	}
	p, err := Pool(b)
	if err != nil {
		return nil, nil, fmt.Errorf("CA certificate %s: %w", path, err)
	}
	return p, b, nil
}

// RequireRole returns a tls VerifyConnection hook that accepts only peers
// whose verified certificate carries one of the roles as OU.
func RequireRole(roles ...string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
			return errors.New("peer presented no certificate of the cluster CA")
		}
		leaf := cs.VerifiedChains[0][0]
		for _, ou := range leaf.Subject.OrganizationalUnit {
			if slices.Contains(roles, ou) {
				return nil
			}
		}
		return fmt.Errorf("peer %q has role %v, want one of %v", leaf.Subject.CommonName, leaf.Subject.OrganizationalUnit, roles)
	}
}

// MemberTLS builds the server and client configs of the Raft transport:
// both sides present a member certificate of the cluster CA and accept only
// member certificates.
func MemberTLS(pool *x509.CertPool, cert tls.Certificate) (server, client *tls.Config) {
	server = &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{cert},
		ClientCAs:        pool,
		ClientAuth:       tls.RequireAndVerifyClientCert,
		VerifyConnection: RequireRole(RoleMember),
	}
	client = &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{cert},
		RootCAs:          pool,
		VerifyConnection: RequireRole(RoleMember),
	}
	return server, client
}

// APIServerTLS is the API's config: a member certificate; client
// certificates of the CA are verified when given (agents, forwarding
// members) but not required (CLI users authenticate with bearer tokens).
func APIServerTLS(pool *x509.CertPool, cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.VerifyClientCertIfGiven,
	}
}

// ClientTLS trusts the cluster CA and presents cert when given.
func ClientTLS(pool *x509.CertPool, cert *tls.Certificate) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}
	return c
}
