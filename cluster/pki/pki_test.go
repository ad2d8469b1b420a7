package pki

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func issue(t *testing.T, ca *CA, name, role string) tls.Certificate {
	t.Helper()
	keyPEM, csrPEM, err := NewKeyAndCSR(name)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.SignCSR(csrPEM, name, role, []net.IP{net.IPv4(127, 0, 0, 1)}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handshake runs a TLS handshake over loopback TCP and returns the server's
// and the client's errors.
func handshake(t *testing.T, server, client *tls.Config) (serr, cerr error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		done <- c.(*tls.Conn).Handshake()
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err == nil {
		// TLS 1.3: the client learns of a rejected certificate on first read.
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err = c.Read(make([]byte, 1))
		if ne, ok := err.(net.Error); (ok && ne.Timeout()) || errors.Is(err, io.EOF) {
			err = nil // no alert: the server accepted us
		}
		c.Close()
	}
	return <-done, err
}

func TestMutualTLS(t *testing.T) {
	ca, err := GenerateCA("c-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateCA("c-2", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := Pool(ca.CertPEM)
	m1, m2 := issue(t, ca, "m1", RoleMember), issue(t, ca, "m2", RoleMember)
	agent := issue(t, ca, "hv-1", RoleAgent)
	stranger := issue(t, other, "m9", RoleMember)

	srv, _ := MemberTLS(pool, m1)
	tests := []struct {
		name   string
		client tls.Certificate
		ok     bool
	}{
		{"member to member", m2, true},
		{"agent refused on raft", agent, false},
		{"other cluster refused", stranger, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cli := MemberTLS(pool, tt.client)
			serr, _ := handshake(t, srv, cli)
			if (serr == nil) != tt.ok {
				t.Fatalf("server handshake error %v, want ok=%v", serr, tt.ok)
			}
		})
	}
	t.Run("no client certificate refused", func(t *testing.T) {
		serr, _ := handshake(t, srv, ClientTLS(pool, nil))
		if serr == nil {
			t.Fatal("raft server accepted a client without certificate")
		}
	})
	t.Run("api accepts bearer clients without certificate", func(t *testing.T) {
		serr, cerr := handshake(t, APIServerTLS(pool, m1), ClientTLS(pool, nil))
		if serr != nil || cerr != nil {
			t.Fatalf("server %v client %v", serr, cerr)
		}
	})
}

func TestSaveLoadCA(t *testing.T) {
	ca, err := GenerateCA("c-1", now)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ca.Save(dir); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "ca-key.pem"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("ca-key.pem mode %v %v, want 0600", st.Mode().Perm(), err)
	}
	got, err := LoadCA(dir)
	if err != nil || !got.Cert.Equal(ca.Cert) {
		t.Fatalf("load: %v", err)
	}
}

func TestSignCSRRejectsGarbage(t *testing.T) {
	ca, _ := GenerateCA("c-1", now)
	for _, in := range []string{"", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", string(ca.CertPEM)} {
		if _, err := ca.SignCSR([]byte(in), "x", RoleMember, nil, nil, now); err == nil {
			t.Errorf("SignCSR(%q) accepted", in)
		}
	}
	_, csr, _ := NewKeyAndCSR("x")
	if _, err := ca.SignCSR(csr, "x", "root", nil, nil, now); err == nil {
		t.Error("unknown role accepted")
	}
}

func TestTokens(t *testing.T) {
	tok, id, hash := NewToken(PrefixJoin)
	if TokenID(tok) != id || HashToken(tok+"\n") != hash || len(id) != 8 {
		t.Fatalf("token %q id %q hash %q", tok, id, hash)
	}
	tok2, _, _ := NewToken(PrefixJoin)
	if tok == tok2 {
		t.Fatal("two tokens are equal")
	}
}

func FuzzSignCSR(f *testing.F) {
	_, csr, _ := NewKeyAndCSR("x")
	f.Add(csr)
	ca, _ := GenerateCA("c-1", now)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ca.SignCSR(b, "x", RoleAgent, nil, nil, now)
	})
}
