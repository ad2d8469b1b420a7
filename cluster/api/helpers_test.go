package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
	"github.com/vela-appliance/vela/cluster/store"
)

// testMember is one in-process member: real Raft (in-memory transport,
// on-disk WAL), real API over TLS on loopback.
type testMember struct {
	id    string
	store *store.Store
	fsm   *fsm.FSM
	api   *Server
	http  *httptest.Server
	trans *raft.InmemTransport
}

type testCluster struct {
	ca      *pki.CA
	pool    *x509.CertPool
	members []*testMember
	admin   string // admin bearer token
	now     time.Time
}

func memberCert(t testing.TB, ca *pki.CA, id string) tls.Certificate {
	t.Helper()
	keyPEM, csr, err := pki.NewKeyAndCSR(id)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.SignCSR(csr, id, pki.RoleMember, []net.IP{net.IPv4(127, 0, 0, 1)}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newCluster starts n members; the first bootstraps and adds the others.
func newCluster(t testing.TB, n int, tweak func(*Config)) *testCluster {
	t.Helper()
	ca, err := pki.GenerateCA("test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := pki.Pool(ca.CertPEM)
	tc := &testCluster{ca: ca, pool: pool, now: time.Now().UTC()}
	for i := range n {
		id := string(rune('a' + i))
		_, trans := raft.NewInmemTransport(raft.ServerAddress(id))
		m := &testMember{id: id, trans: trans}
		m.fsm = fsm.New(fsm.Config{})
		m.store, err = store.Open(store.Config{DataDir: t.TempDir(), ID: id, Transport: trans, FSM: m.fsm})
		if err != nil {
			t.Fatal(err)
		}
		cert := memberCert(t, ca, id)
		cfg := Config{Raft: m.store, FSM: m.fsm, CA: ca, Pool: pool, ForwardTLS: pki.ClientTLS(pool, &cert), LeaderWait: 2 * time.Second, Now: func() time.Time { return tc.now }}
		if tweak != nil {
			tweak(&cfg)
		}
		m.api, err = New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m.http = httptest.NewUnstartedServer(m.api.Handler())
		m.http.TLS = pki.APIServerTLS(pool, cert)
		m.http.StartTLS()
		t.Cleanup(m.http.Close)
		t.Cleanup(func() { _ = m.store.Raft().Shutdown().Error() })
		tc.members = append(tc.members, m)
	}
	for _, a := range tc.members {
		for _, b := range tc.members {
			if a != b {
				a.trans.Connect(b.trans.LocalAddr(), b.trans)
			}
		}
	}
	lead := tc.members[0]
	if err := lead.store.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lead.store.Raft().LeaderCh():
	case <-time.After(10 * time.Second):
		t.Fatal("no leader")
	}
	token, id, hash := pki.NewToken(pki.PrefixAPI)
	tc.admin = token
	tc.apply(t, fsm.TypeAPITokenUpsert, fsm.Upsert[fsm.APIToken]{Object: fsm.APIToken{ID: id, Name: "root", Hash: hash, Scope: fsm.ScopeAdmin}})
	for _, m := range tc.members {
		if m != lead {
			if err := lead.store.AddMember(context.Background(), m.id, m.id, true); err != nil {
				t.Fatal(err)
			}
		}
		tc.apply(t, fsm.TypeMemberUpsert, fsm.Upsert[fsm.Member]{Object: fsm.Member{ID: m.id, RaftAddr: m.id, APIAddr: m.http.Listener.Addr().String()}})
	}
	idx := lead.store.AppliedIndex()
	for _, m := range tc.members {
		waitFor(t, "member "+m.id+" to catch up", func() bool { return m.store.AppliedIndex() >= idx })
	}
	return tc
}

func (tc *testCluster) apply(t testing.TB, typ fsm.Type, body any) {
	t.Helper()
	b, err := fsm.Encode(typ, body)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tc.members[0].store.Apply(context.Background(), b)
	if err != nil || r.Err != nil {
		t.Fatalf("apply: %v %v", err, r.Err)
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

type resp struct {
	code   int
	header http.Header
	body   []byte
}

func (r resp) err() apiError {
	var e apiError
	_ = json.Unmarshal(r.body, &e)
	return e
}

// call sends a request to member m; token "" sends none; cert, if set, is
// presented as a client certificate.
func (tc *testCluster) call(t *testing.T, m *testMember, method, path, token string, body []byte, cert *tls.Certificate) resp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, m.http.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: pki.ClientTLS(tc.pool, cert)}, Timeout: 20 * time.Second}
	defer cl.CloseIdleConnections()
	res, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, b}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
