package credentials

import (
	"archive/zip"
	"bytes"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/pki"
)

func TestEnv(t *testing.T) {
	for _, tt := range []struct {
		shell string
		want  []string
	}{
		{"bash", []string{`export DOCKER_HOST="tcp://10.200.0.10:2376"`, `export DOCKER_TLS_VERIFY="1"`, `export DOCKER_CERT_PATH="/h/.vela/clusters/web"`, `# eval "$(vela env web)"`}},
		{"zsh", []string{`export DOCKER_HOST="tcp://10.200.0.10:2376"`}},
		{"fish", []string{`set -gx DOCKER_HOST "tcp://10.200.0.10:2376";`, `# eval (vela env web --shell fish)`}},
		{"powershell", []string{`$Env:DOCKER_TLS_VERIFY = "1"`, `Invoke-Expression`}},
		{"cmd", []string{`SET DOCKER_CERT_PATH=/h/.vela/clusters/web`, `REM @FOR /f "tokens=*" %i IN ('vela env web --shell cmd') DO @%i`}},
	} {
		t.Run(tt.shell, func(t *testing.T) {
			got, err := Env(tt.shell, "web", "10.200.0.10", "/h/.vela/clusters/web")
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("lacks %s:\n%s", w, got)
				}
			}
		})
	}
	if _, err := Env("tcsh", "web", "h", "d"); err == nil {
		t.Error("tcsh accepted")
	}
}

func TestCertificates(t *testing.T) {
	now := time.Now()
	certPEM, keyPEM, err := NewCA("acme/web", now)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := ParseCA(string(certPEM), string(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := pki.Pool(certPEM)
	other, otherKey, _ := NewCA("acme/db", now)
	otherPool, _ := pki.Pool(other)
	_ = otherKey

	srv, _, err := ca.Server("acme-web-1", net.ParseIP("10.200.0.10"), now)
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := pki.ParseCert(srv)
	if _, err := sc.Verify(x509.VerifyOptions{Roots: pool, DNSName: "10.200.0.10", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("server certificate for the node address: %v", err)
	}
	cli, _, err := ca.Client("tenant:acme/ci", now)
	if err != nil {
		t.Fatal(err)
	}
	cc, _ := pki.ParseCert(cli)
	if _, err := cc.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if _, err := cc.Verify(x509.VerifyOptions{Roots: otherPool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("a client certificate of one cluster verifies against another cluster's CA")
	}
	_, csr, _ := pki.NewKeyAndCSR("whatever the client says")
	signed, err := ca.SignClientCSR(csr, "tenant:acme/ci", now)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := pki.ParseCert(signed); c.Subject.CommonName != "tenant:acme/ci" || c.IsCA {
		t.Errorf("signed CSR: CN %q CA %v (the name is the server's, never the request's)", c.Subject.CommonName, c.IsCA)
	}
	if _, err := ca.SignClientCSR([]byte("junk"), "x", now); err == nil {
		t.Error("junk CSR signed")
	}
	if _, err := ParseCA(string(certPEM), ""); err == nil {
		t.Error("a CA without its key parsed")
	}
}

func TestBundleZip(t *testing.T) {
	b := Bundle{Cluster: "acme/web", Host: "10.200.0.10", CACert: []byte("CA"), Cert: []byte("CERT"), Key: []byte("KEY")}
	z, err := Zip(b.Files("."))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "README.md ca.pem cert.pem docker.cmd docker.env docker.fish docker.ps1 key.pem" {
		t.Errorf("files: %s", got)
	}
	noKey := b
	noKey.Key = nil
	if _, ok := noKey.Files(".")["key.pem"]; ok {
		t.Error("a bundle whose key stayed on the client has a key.pem")
	}
}
