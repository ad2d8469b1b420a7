package member

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
	"github.com/vela-appliance/vela/cluster/store"
)

// JoinWait bounds how long a joining member waits for the member it joins
// through to answer.
const JoinWait = 2 * time.Minute

func newClusterID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "vc-" + hex.EncodeToString(b[:])
}

// prepareBootstrap settles the cluster CA (adopted or generated), the
// cluster ID and this member's certificate before Raft starts.
func (m *Member) prepareBootstrap() error {
	dir := filepath.Join(m.cfg.DataDir, pkiDir)
	id, err := store.ClusterID(m.cfg.DataDir)
	if err != nil {
		return err
	}
	if id == "" {
		id = newClusterID()
	}
	var ca *pki.CA
	switch {
	case fileExists(filepath.Join(dir, "ca-key.pem")):
		ca, err = pki.LoadCA(dir)
	case m.cfg.CAKeyFile != "":
		var c, k []byte
		if c, err = os.ReadFile(m.cfg.CAFile); err == nil {
			if k, err = os.ReadFile(m.cfg.CAKeyFile); err == nil {
				ca, err = pki.ParseCA(c, k)
			}
		}
		if err != nil {
			return fmt.Errorf("adopt the CA from --ca-file %s and --ca-key-file %s: %w", m.cfg.CAFile, m.cfg.CAKeyFile, err)
		}
	case m.cfg.CAFile != "" && fileExists(m.cfg.CAFile):
		sibling := filepath.Join(filepath.Dir(m.cfg.CAFile), "ca-key.pem")
		if !fileExists(sibling) {
			return fmt.Errorf("--ca-file %s exists but neither --ca-key-file nor %s was given: the bootstrap member needs the CA key; pass --ca-key-file, or remove %s to generate a new CA", m.cfg.CAFile, sibling, m.cfg.CAFile)
		}
		var c, k []byte
		if c, err = os.ReadFile(m.cfg.CAFile); err == nil {
			if k, err = os.ReadFile(sibling); err == nil {
				ca, err = pki.ParseCA(c, k)
			}
		}
	default:
		ca, err = pki.GenerateCA(id, time.Now())
	}
	if err != nil {
		return err
	}
	if err := ca.Save(dir); err != nil {
		return err
	}
	if m.cfg.CAFile != "" && !fileExists(m.cfg.CAFile) {
		if err := os.MkdirAll(filepath.Dir(m.cfg.CAFile), 0o755); err != nil {
			return err
		}
		if err := pki.WriteFile(m.cfg.CAFile, ca.CertPEM, 0o644); err != nil {
			return err
		}
	}
	keyPEM, csr, err := pki.NewKeyAndCSR(m.cfg.ID)
	if err != nil {
		return err
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1)}
	for _, a := range []string{m.cfg.RaftAddr, m.cfg.APIAddr} {
		host, _, _ := net.SplitHostPort(a)
		ips = append(ips, net.ParseIP(host))
	}
	certPEM, err := ca.SignCSR(csr, m.cfg.ID, pki.RoleMember, ips, []string{m.cfg.ID, "localhost"}, time.Now())
	if err != nil {
		return err
	}
	if err := m.saveMemberCert(certPEM, keyPEM); err != nil {
		return err
	}
	return store.ClaimClusterID(m.cfg.DataDir, id)
}

// bootstrap makes this member the first voter and records the cluster,
// itself and the first admin token.
func (m *Member) bootstrap(ctx context.Context, st *store.Store, ca *pki.CA) error {
	if err := st.Bootstrap(); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for !st.IsLeader() {
		select {
		case <-wctx.Done():
			return fmt.Errorf("bootstrap: member %s did not become leader: %w", m.cfg.ID, wctx.Err())
		case <-st.Raft().LeaderCh():
		}
	}
	id, err := store.ClusterID(m.cfg.DataDir)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	meta := fsm.Meta{Actor: "member:" + m.cfg.ID, Time: now}
	token, tokID, hash := pki.NewToken(pki.PrefixAPI)
	cmds := []struct {
		t    fsm.Type
		body any
	}{
		{fsm.TypeClusterInit, fsm.Upsert[fsm.ClusterInfo]{Meta: meta, Object: fsm.ClusterInfo{ID: id, CACert: string(ca.CertPEM)}}},
		{fsm.TypeMemberUpsert, fsm.Upsert[fsm.Member]{Meta: meta, Object: fsm.Member{ID: m.cfg.ID, RaftAddr: m.cfg.RaftAddr, APIAddr: m.cfg.APIAddr, Joined: now}}},
		{fsm.TypeAPITokenUpsert, fsm.Upsert[fsm.APIToken]{Meta: meta, Object: fsm.APIToken{ID: tokID, Name: "admin", Hash: hash, Scope: fsm.ScopeAdmin, Created: now}}},
	}
	if m.cfg.JoinTokensFile != "" {
		toks, err := readJoinTokens(m.cfg.JoinTokensFile)
		if err != nil {
			return err
		}
		for _, jt := range toks {
			cmds = append(cmds, struct {
				t    fsm.Type
				body any
			}{fsm.TypeJoinTokenCreate, fsm.Upsert[fsm.JoinToken]{Meta: meta, Object: jt}})
		}
	}
	if m.cfg.APITokensFile != "" {
		toks, err := readAPITokens(m.cfg.APITokensFile)
		if err != nil {
			return err
		}
		for _, at := range toks {
			cmds = append(cmds, struct {
				t    fsm.Type
				body any
			}{fsm.TypeAPITokenUpsert, fsm.Upsert[fsm.APIToken]{Meta: meta, Object: at}})
		}
	}
	for _, c := range cmds {
		b, err := fsm.Encode(c.t, c.body)
		if err != nil {
			return err
		}
		res, err := st.Apply(wctx, b)
		if err == nil {
			err = res.Err
		}
		if err != nil {
			return fmt.Errorf("bootstrap: record command type %d: %w", c.t, err)
		}
	}
	if err := writeSecret(m.cfg.AdminTokenFile, token); err != nil {
		return fmt.Errorf("write the admin token: %w", err)
	}
	m.log.Info("bootstrapped a new cluster", "cluster", id, "admin_token_file", m.cfg.AdminTokenFile)
	return nil
}

func (m *Member) joinClient(cert *tls.Certificate) (*client.Client, error) {
	caPEM, err := os.ReadFile(m.cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("read --ca-file: %w", err)
	}
	return client.New(client.Config{Server: m.cfg.Join, CAPEM: caPEM, Cert: cert, Retry: 30 * time.Second, Timeout: 15 * time.Second})
}

// checkRestart refuses to restart a data dir of another cluster when
// --join names a reachable member of a different cluster.
func (m *Member) checkRestart(ctx context.Context) error {
	have, err := store.ClusterID(m.cfg.DataDir)
	if err != nil || m.cfg.Join == "" || have == "" {
		return err
	}
	c, err := m.joinClient(nil)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	info, err := c.Cluster(cctx)
	if err != nil {
		// The cluster may be down (a full restart): carry on from the state.
		m.log.Warn("cannot check the cluster of --join; restarting from the data dir", "join", m.cfg.Join, "err", err)
		return nil
	}
	return store.ClaimClusterID(m.cfg.DataDir, info.ID)
}

// prepareJoin uses the join token to get this member's certificate and the
// cluster CA, refusing a data dir that belongs to another cluster.
func (m *Member) prepareJoin(ctx context.Context) error {
	if m.cfg.JoinToken == "" {
		return errors.New("--join needs a join token: --token or --token-file (issue one with `vela members token`)")
	}
	c, err := m.joinClient(nil)
	if err != nil {
		return err
	}
	// Members boot together: wait (bounded) for the member we join through.
	var info api.ClusterInfo
	deadline := time.Now().Add(JoinWait)
	for {
		info, err = c.Cluster(ctx)
		if err == nil || client.StatusOf(err) != 0 || time.Now().After(deadline) {
			break
		}
		m.log.Info("waiting for the member to join through", "join", m.cfg.Join, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	if err != nil {
		return fmt.Errorf("reach the cluster through %s: %w", m.cfg.Join, err)
	}
	if err := store.ClaimClusterID(m.cfg.DataDir, info.ID); err != nil {
		return err
	}
	keyPEM, csr, err := pki.NewKeyAndCSR(m.cfg.ID)
	if err != nil {
		return err
	}
	resp, err := c.Join(ctx, api.JoinRequest{Token: strings.TrimSpace(m.cfg.JoinToken), Name: m.cfg.ID, CSR: string(csr), RaftAddr: m.cfg.RaftAddr, APIAddr: m.cfg.APIAddr})
	if err != nil {
		return fmt.Errorf("join through %s as %s: %w", m.cfg.Join, m.cfg.ID, err)
	}
	if resp.Role != pki.RoleMember || resp.CAKey == "" {
		return fmt.Errorf("the join token is for role %q, not member; issue one with `vela members token --role member`", resp.Role)
	}
	ca, err := pki.ParseCA([]byte(resp.CACert), []byte(resp.CAKey))
	if err != nil {
		return fmt.Errorf("join response: %w", err)
	}
	if err := ca.Save(filepath.Join(m.cfg.DataDir, pkiDir)); err != nil {
		return err
	}
	return m.saveMemberCert([]byte(resp.Cert), keyPEM)
}

// addSelf asks the leader to add this (running) member to Raft.
func (m *Member) addSelf(ctx context.Context, cert tls.Certificate) error {
	c, err := m.joinClient(&cert)
	if err != nil {
		return err
	}
	st, err := c.AddSelf(ctx, m.cfg.RaftAddr, m.cfg.APIAddr)
	if err != nil {
		return fmt.Errorf("add member %s to raft through %s: %w", m.cfg.ID, m.cfg.Join, err)
	}
	m.log.Info("joined the cluster", "role", st.Role)
	return nil
}

// NewJoinToken makes a join token ahead of time (the installer renders it
// into a machine's Ignition config) and the record to pass to the
// bootstrap member with --join-tokens (which holds only its hash).
func NewJoinToken(role string, now time.Time, ttl time.Duration) (token string, rec fsm.JoinToken) {
	token, id, hash := pki.NewToken(pki.PrefixJoin)
	return token, fsm.JoinToken{ID: id, Hash: hash, Role: role, Created: now.UTC(), Expires: now.UTC().Add(ttl)}
}

// NewAPIToken makes an API token ahead of time (the installer keeps the
// secret) and the record to pass to the bootstrap member with --api-tokens.
func NewAPIToken(name, scope string, now time.Time) (token string, rec fsm.APIToken) {
	token, id, hash := pki.NewToken(pki.PrefixAPI)
	return token, fsm.APIToken{ID: id, Name: name, Hash: hash, Scope: scope, Created: now.UTC()}
}

// readAPITokens reads a JSON array of API token records.
func readAPITokens(path string) ([]fsm.APIToken, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read --api-tokens: %w", err)
	}
	var toks []fsm.APIToken
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&toks); err != nil {
		return nil, fmt.Errorf("--api-tokens %s: want a JSON array of {id, name, hash, scope}: %w", path, err)
	}
	for i, t := range toks {
		switch {
		case t.ID == "" || len(t.Hash) != 64:
			return nil, fmt.Errorf("--api-tokens %s: entry %d: id and a 64-hex-digit SHA-256 hash are required", path, i)
		case t.Scope != fsm.ScopeAdmin && t.Scope != fsm.ScopeTenant:
			return nil, fmt.Errorf("--api-tokens %s: entry %d: scope %q, want admin or tenant", path, i, t.Scope)
		case t.Scope == fsm.ScopeTenant && t.Tenant == "":
			return nil, fmt.Errorf("--api-tokens %s: entry %d: a tenant token needs its tenant", path, i)
		}
	}
	return toks, nil
}

// readJoinTokens reads a JSON array of join token records.
func readJoinTokens(path string) ([]fsm.JoinToken, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read --join-tokens: %w", err)
	}
	var toks []fsm.JoinToken
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&toks); err != nil {
		return nil, fmt.Errorf("--join-tokens %s: want a JSON array of {id, hash, role, expires}: %w", path, err)
	}
	for i, t := range toks {
		switch {
		case t.ID == "" || len(t.Hash) != 64:
			return nil, fmt.Errorf("--join-tokens %s: entry %d: id and a 64-hex-digit SHA-256 hash are required", path, i)
		case t.Role != fsm.JoinMember && t.Role != fsm.JoinAgent:
			return nil, fmt.Errorf("--join-tokens %s: entry %d: role %q, want member or agent", path, i, t.Role)
		case t.Expires.IsZero():
			return nil, fmt.Errorf("--join-tokens %s: entry %d: expires is required", path, i)
		}
	}
	return toks, nil
}
