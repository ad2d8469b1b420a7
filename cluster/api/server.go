package api

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
)

// Raft is what the API needs of the member's Raft node (store.Store).
type Raft interface {
	ID() string
	Apply(ctx context.Context, cmd []byte) (fsm.Result, error)
	ReadIndex(ctx context.Context) (uint64, error)
	AppliedIndex() uint64
	IsLeader() bool
	Leader() (addr, id string)
	AddMember(ctx context.Context, id, addr string, voter bool) error
	RemoveMember(ctx context.Context, id string) error
	Servers() ([]raft.Server, error)
	Raft() *raft.Raft
}

// Config configures the API server of one member.
type Config struct {
	Raft Raft
	FSM  *fsm.FSM
	// CA signs certificates for joining members and agents.
	CA *pki.CA
	// Pool verifies member certificates carried in forwarded requests.
	Pool *x509.CertPool
	// ForwardTLS is the client config (member certificate) used to forward
	// requests to the leader and to ask members for their status.
	ForwardTLS *tls.Config
	// DataDir is checked for free space before every write.
	DataDir string
	// MinFreeBytes below which writes are refused (default 64 MiB).
	MinFreeBytes uint64
	// LeaderWait bounds how long a request waits for a leader (default 3 s).
	LeaderWait time.Duration
	Logger     *slog.Logger
	Registry   *prometheus.Registry
	// Now is the clock stamped on commands (default time.Now).
	Now func() time.Time
	// HeartbeatInterval is the agents' heartbeat interval: a hypervisor
	// not heard from for fsm.UnreachableAfter of them is shown unreachable
	// (default fsm.DefaultHeartbeatInterval).
	HeartbeatInterval time.Duration
}

// Server is the HTTP API of one member.
type Server struct {
	cfg     Config
	log     *slog.Logger
	proxy   http.Handler
	client  *http.Client
	metrics *metrics
}

// New builds the API server.
func New(cfg Config) (*Server, error) {
	if cfg.Raft == nil || cfg.FSM == nil {
		return nil, errors.New("api: Raft and FSM are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MinFreeBytes == 0 {
		cfg.MinFreeBytes = 64 << 20
	}
	if cfg.LeaderWait == 0 {
		cfg.LeaderWait = 3 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = fsm.DefaultHeartbeatInterval
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	tr := &http.Transport{TLSClientConfig: cfg.ForwardTLS, MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}
	s.client = &http.Client{Transport: tr, Timeout: 15 * time.Second}
	s.proxy = newForwarder(s, tr)
	m, err := newMetrics(s, cfg.Registry)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	return s, nil
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.Method+" "+rt.Path, s.metrics.instrument(rt.Method+" "+rt.Path, s.wrap(rt)))
	}
	return mux
}

// wrap applies the route's placement (leader, consistent read or local)
// and its authorisation.
func (s *Server) wrap(rt route) http.Handler {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err == nil {
			err = rt.Auth.allows(p)
		}
		if err == nil {
			err = rt.Handle(w, r.WithContext(withPrincipal(r.Context(), p)))
		}
		if err != nil {
			writeErr(w, err)
		}
	})
	switch rt.Place {
	case onLeader:
		return s.onLeader(h, true)
	case consistent:
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("stale") == "true" {
				h.ServeHTTP(w, r)
				return
			}
			s.onLeader(s.readBarrier(h), false).ServeHTTP(w, r)
		})
	}
	return h
}

// readBarrier makes a read on the leader linearizable: Raft.ReadIndex
// confirms leadership with a quorum (and, once per term, waits for a
// barrier), after which this member's state holds every write acknowledged
// before the request arrived: writes are acknowledged only once the
// leader's FSM applied them, and the barrier covers earlier leaders'. It
// does not wait for Raft's applied index, which hashicorp/raft moves when
// it hands entries to the FSM, before they are applied: that proves nothing.
func (s *Server) readBarrier(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.cfg.Raft.ReadIndex(r.Context()); err != nil {
			writeErr(w, &apiError{Status: http.StatusServiceUnavailable, RetryAfter: 1, Msg: fmt.Sprintf("member %s lost leadership during the read; retry", s.cfg.Raft.ID())})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// propose stamps nothing itself: callers build the body with s.meta(r)
// first. It maps Raft and state errors to API errors.
func (s *Server) propose(r *http.Request, t fsm.Type, body any) (fsm.Result, error) {
	if err := s.checkDisk(); err != nil {
		return fsm.Result{}, err
	}
	cmd, err := fsm.Encode(t, body)
	if err != nil {
		return fsm.Result{}, err
	}
	start := time.Now()
	res, err := s.cfg.Raft.Apply(r.Context(), cmd)
	s.metrics.commit.Observe(time.Since(start).Seconds())
	if err != nil {
		s.log.Warn("commit failed", "type", uint8(t), "err", err)
		// Only "not the leader" is certain to have proposed nothing; after a
		// lost leadership or a timeout the entry may still commit.
		return res, &apiError{Status: http.StatusServiceUnavailable, RetryAfter: 1, NotApplied: errors.Is(err, raft.ErrNotLeader), Msg: fmt.Sprintf("not committed: %v; retry", err)}
	}
	if res.Err != nil {
		return res, stateError(res.Err)
	}
	return res, nil
}

func stateError(err error) error {
	switch {
	case errors.Is(err, fsm.ErrNotFound):
		return errf(http.StatusNotFound, "", "%v", err)
	case errors.Is(err, fsm.ErrQuota):
		return errf(http.StatusConflict, "", "%v", err)
	case errors.Is(err, fsm.ErrConflict):
		return errf(http.StatusConflict, "", "%v", err)
	case errors.Is(err, fsm.ErrTokenInvalid):
		return errf(http.StatusForbidden, "token", "%v", err)
	}
	return errf(http.StatusInternalServerError, "", "%v", err)
}

// meta stamps who and when on a command, before it is proposed.
func (s *Server) meta(r *http.Request) fsm.Meta {
	return fsm.Meta{Actor: principalFrom(r.Context()).String(), Time: s.cfg.Now().UTC()}
}

// view reads the state under the FSM's lock.
func (s *Server) view(fn func(*fsm.State)) { s.cfg.FSM.View(fn) }
