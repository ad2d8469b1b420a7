package credentials

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/vela-appliance/vela/cluster/pki"
)

// Validity periods of cluster certificates.
const (
	CAValidity     = 10 * 365 * 24 * time.Hour
	ServerValidity = 2 * 365 * 24 * time.Hour
	ClientValidity = 365 * 24 * time.Hour
)

// NewCA makes a cluster CA (ECDSA P-256) named after tenant/cluster and
// returns its certificate and PKCS#8 key as PEM.
func NewCA(key string, now time.Time) (certPEM, keyPEM []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster %s: generate CA key: %w", key, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "vela cluster " + key, Organization: []string{"vela tenant cluster"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster %s: self-sign CA: %w", key, err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), pemBlock("PRIVATE KEY", kd), nil
}

// CA is a parsed cluster CA.
type CA struct{ ca *pki.CA }

// ParseCA reads a cluster CA from the PEM kept in fsm.Cluster.
func ParseCA(certPEM, keyPEM string) (*CA, error) {
	if certPEM == "" || keyPEM == "" {
		return nil, errors.New("the cluster has no CA (created by an older version?); rebuild it")
	}
	c, err := pki.ParseCA([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	return &CA{ca: c}, nil
}

// CertPEM is the CA certificate.
func (c *CA) CertPEM() []byte { return c.ca.CertPEM }

// Server issues a dockerd server certificate (and new key) for a node
// reachable at ip.
func (c *CA) Server(name string, ip net.IP, now time.Time) (certPEM, keyPEM []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	cert, err := c.issue(&k.PublicKey, name, []net.IP{ip}, []string{name}, x509.ExtKeyUsageServerAuth, ServerValidity, now)
	if err != nil {
		return nil, nil, err
	}
	return cert, keyPEMOf(k), nil
}

// Client issues a client certificate (and new key) named name.
func (c *CA) Client(name string, now time.Time) (certPEM, keyPEM []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	cert, err := c.issue(&k.PublicKey, name, nil, nil, x509.ExtKeyUsageClientAuth, ClientValidity, now)
	if err != nil {
		return nil, nil, err
	}
	return cert, keyPEMOf(k), nil
}

// SignClientCSR issues a client certificate for the key of a PEM
// certificate request; the name is the caller's, not the request's.
func (c *CA) SignClientCSR(csrPEM []byte, name string, now time.Time) ([]byte, error) {
	b, _ := pem.Decode(csrPEM)
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("csr: not a PEM CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("csr: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("csr: bad signature: %w", err)
	}
	return c.issue(csr.PublicKey, name, nil, nil, x509.ExtKeyUsageClientAuth, ClientValidity, now)
}

func (c *CA) issue(pub crypto.PublicKey, name string, ips []net.IP, dns []string, usage x509.ExtKeyUsage, validity time.Duration, now time.Time) ([]byte, error) {
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		IPAddresses:  ips,
		DNSNames:     dns,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.ca.Cert, pub, c.ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate for %s: %w", name, err)
	}
	return pemBlock("CERTIFICATE", der), nil
}

func keyPEMOf(k *ecdsa.PrivateKey) []byte {
	d, _ := x509.MarshalPKCS8PrivateKey(k)
	return pemBlock("PRIVATE KEY", d)
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}
