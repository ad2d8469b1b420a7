package member

import (
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
)

func TestNewRefusesBadConfigs(t *testing.T) {
	ok := Config{DataDir: "/tmp/x", RaftAddr: "127.0.0.1:8444", APIAddr: "127.0.0.1:8443"}
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"ok", func(*Config) {}, ""},
		{"no data dir", func(c *Config) { c.DataDir = "" }, "--data-dir"},
		{"no addrs", func(c *Config) { c.APIAddr = "" }, "--raft-addr and --api-addr"},
		{"unspecified ip", func(c *Config) { c.RaftAddr = "0.0.0.0:8444" }, "IP the other members can reach"},
		{"hostname", func(c *Config) { c.APIAddr = "node:8443" }, "want IP:PORT"},
		{"both", func(c *Config) { c.Bootstrap = true; c.Join = "127.0.0.1:1"; c.CAFile = "x" }, "exclude each other"},
		{"join without ca", func(c *Config) { c.Join = "127.0.0.1:1" }, "--ca-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mod(&c)
			_, err := New(c)
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("New: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestMemberIDRecorded(t *testing.T) {
	dir := t.TempDir()
	id, err := memberID(dir, "m1")
	if err != nil || id != "m1" {
		t.Fatalf("%q %v", id, err)
	}
	if id, err := memberID(dir, ""); err != nil || id != "m1" {
		t.Fatalf("recorded id: %q %v", id, err)
	}
	if _, err := memberID(dir, "m2"); err == nil {
		t.Fatal("a data dir of m1 accepted as m2")
	}
	st, _ := os.Stat(filepath.Join(dir, memberIDFile))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
}

func TestJoinTokensFile(t *testing.T) {
	dir := t.TempDir()
	tok, rec := NewJoinToken(fsm.JoinMember, time.Now(), time.Hour)
	if pki.HashToken(tok) != rec.Hash || pki.TokenID(tok) != rec.ID {
		t.Fatalf("token %q does not match its record %+v", tok, rec)
	}
	good, _ := json.Marshal([]fsm.JoinToken{rec})
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"good", string(good), true},
		{"not json", "vjoin.a.b", false},
		{"unknown field", `[{"id":"a","secret":"x"}]`, false},
		{"short hash", `[{"id":"a","hash":"ab","role":"member","expires":"2030-01-01T00:00:00Z"}]`, false},
		{"bad role", `[{"id":"a","hash":"` + strings.Repeat("a", 64) + `","role":"king","expires":"2030-01-01T00:00:00Z"}]`, false},
		{"no expiry", `[{"id":"a","hash":"` + strings.Repeat("a", 64) + `","role":"agent"}]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			os.WriteFile(p, []byte(tt.body), 0o600)
			got, err := readJoinTokens(p)
			if (err == nil) != tt.ok {
				t.Fatalf("readJoinTokens: %v", err)
			}
			if tt.ok && (len(got) != 1 || got[0].Hash != rec.Hash) {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func TestBootstrapCA(t *testing.T) {
	ca, err := pki.GenerateCA("pre", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		key     bool // ca-key.pem beside ca.pem
		wantErr string
	}{
		{"adopts the installer's CA", true, ""},
		{"refuses a CA without its key", false, "needs the CA key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			etc := t.TempDir()
			os.WriteFile(filepath.Join(etc, "ca.pem"), ca.CertPEM, 0o644)
			if tt.key {
				os.WriteFile(filepath.Join(etc, "ca-key.pem"), ca.KeyPEM, 0o600)
			}
			m, err := New(Config{DataDir: t.TempDir(), ID: "m1", RaftAddr: "127.0.0.1:1", APIAddr: "127.0.0.1:2", CAFile: filepath.Join(etc, "ca.pem"), Bootstrap: true})
			if err != nil {
				t.Fatal(err)
			}
			err = m.prepareBootstrap()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := pki.LoadCA(filepath.Join(m.cfg.DataDir, pkiDir))
			if err != nil || !got.Cert.Equal(ca.Cert) {
				t.Fatalf("the member's CA is not the installer's: %v", err)
			}
			cert, err := m.loadMemberCert()
			if err != nil {
				t.Fatal(err)
			}
			leaf, _ := x509.ParseCertificate(cert.Certificate[0])
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: poolOf(ca), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Fatalf("member certificate not signed by the CA: %v", err)
			}
		})
	}
}

func poolOf(ca *pki.CA) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

func TestAPITokensFile(t *testing.T) {
	dir := t.TempDir()
	tok, rec := NewAPIToken("installer", fsm.ScopeAdmin, time.Now())
	if pki.HashToken(tok) != rec.Hash || pki.TokenID(tok) != rec.ID {
		t.Fatalf("token %q does not match its record %+v", tok, rec)
	}
	good, _ := json.Marshal([]fsm.APIToken{rec})
	h := strings.Repeat("a", 64)
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"good", string(good), true},
		{"not json", "vapi.a.b", false},
		{"secret field", `[{"id":"a","secret":"x"}]`, false},
		{"short hash", `[{"id":"a","hash":"ab","scope":"admin"}]`, false},
		{"bad scope", `[{"id":"a","hash":"` + h + `","scope":"root"}]`, false},
		{"tenant without tenant", `[{"id":"a","hash":"` + h + `","scope":"tenant"}]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			os.WriteFile(p, []byte(tt.body), 0o600)
			got, err := readAPITokens(p)
			if (err == nil) != tt.ok {
				t.Fatalf("readAPITokens: %v", err)
			}
			if tt.ok && (len(got) != 1 || got[0].Hash != rec.Hash) {
				t.Fatalf("got %+v", got)
			}
		})
	}
}
