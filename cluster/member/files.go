package member

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vela-appliance/vela/cluster/pki"
)

// Files of a member inside its data dir.
const (
	pkiDir         = "pki"
	memberCertFile = "member.pem"
	memberKeyFile  = "member-key.pem"
	memberIDFile   = "member-id"
)

func (m *Member) pkiPath(name string) string { return filepath.Join(m.cfg.DataDir, pkiDir, name) }

// loadMemberCert reads the member's certificate and key.
func (m *Member) loadMemberCert() (tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(m.pkiPath(memberCertFile), m.pkiPath(memberKeyFile))
	if err != nil {
		return c, fmt.Errorf("member certificate in %s: %w (a data dir with raft state but no certificate is damaged; restore it or join afresh with an empty --data-dir)", filepath.Join(m.cfg.DataDir, pkiDir), err)
	}
	return c, nil
}

func (m *Member) saveMemberCert(certPEM, keyPEM []byte) error {
	if err := os.MkdirAll(filepath.Join(m.cfg.DataDir, pkiDir), 0o700); err != nil {
		return err
	}
	if err := pki.WriteFile(m.pkiPath(memberKeyFile), keyPEM, 0o600); err != nil {
		return err
	}
	return pki.WriteFile(m.pkiPath(memberCertFile), certPEM, 0o644)
}

// memberID settles this member's ID: the one recorded in the data dir, or
// the flag, or the host name; it is recorded on first start.
func memberID(dataDir, flag string) (string, error) {
	p := filepath.Join(dataDir, memberIDFile)
	b, err := os.ReadFile(p)
	if err == nil {
		have := strings.TrimSpace(string(b))
		if flag != "" && flag != have {
			return "", fmt.Errorf("data dir %s belongs to member %q, not %q; drop --id or use another --data-dir", dataDir, have, flag)
		}
		return have, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	id := flag
	if id == "" {
		h, err := os.Hostname()
		if err != nil {
			return "", fmt.Errorf("no --id and no host name: %w", err)
		}
		id, _, _ = strings.Cut(strings.ToLower(h), ".")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("create data dir %s: %w", dataDir, err)
	}
	return id, pki.WriteFile(p, []byte(id+"\n"), 0o600)
}

// writeSecret writes a token file 0600, refusing to overwrite another one.
func writeSecret(path, secret string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return pki.WriteFile(path, []byte(secret+"\n"), 0o600)
}
