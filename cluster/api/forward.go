package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vela-appliance/vela/cluster/fsm"
)

// Headers set by a member that forwards a request to the leader.
const (
	hdrForwardedBy   = "X-Vela-Forwarded-By"
	hdrForwardedCert = "X-Vela-Forwarded-Cert"
)

// onLeader is the one forwarding helper every write endpoint (and every
// linearizable read) goes through: on the leader it runs h; on a follower
// it waits (bounded) for a leader to be known and proxies the request to
// it; with no leader in time it answers 503 with Retry-After.
func (s *Server) onLeader(h http.Handler, write bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Raft.IsLeader() {
			h.ServeHTTP(w, r)
			return
		}
		if by := r.Header.Get(hdrForwardedBy); by != "" {
			// Forwarded to us by a member that thought we lead: do not bounce
			// it again (leadership is moving); the client retries.
			writeErr(w, &apiError{Status: http.StatusServiceUnavailable, RetryAfter: 1, NotApplied: true, Msg: fmt.Sprintf("member %s is not the leader (forwarded by %s while leadership moves); retry", s.cfg.Raft.ID(), by)})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.LeaderWait)
		defer cancel()
		leader, err := s.waitLeaderAPI(ctx)
		if err != nil {
			writeErr(w, &apiError{Status: http.StatusServiceUnavailable, RetryAfter: 1, NotApplied: true, Msg: err.Error()})
			return
		}
		if leader == "" { // we became leader while waiting
			h.ServeHTTP(w, r)
			return
		}
		s.metrics.forwarded.Inc()
		r = r.WithContext(context.WithValue(r.Context(), leaderKey{}, leader))
		s.proxy.ServeHTTP(w, r)
	})
}

type leaderKey struct{}

// waitLeaderAPI polls until a leader with a known API address exists;
// "" means this member is the leader.
func (s *Server) waitLeaderAPI(ctx context.Context) (string, error) {
	t := time.NewTicker(25 * time.Millisecond)
	defer t.Stop()
	for {
		if s.cfg.Raft.IsLeader() {
			return "", nil
		}
		_, id := s.cfg.Raft.Leader()
		if id != "" {
			var m fsm.Member
			var ok bool
			s.view(func(st *fsm.State) { m, ok = st.Members[id] })
			if ok && m.APIAddr != "" {
				return m.APIAddr, nil
			}
		}
		select {
		case <-ctx.Done():
			if id != "" {
				return "", fmt.Errorf("leader %s has no API address recorded yet; retry", id)
			}
			return "", fmt.Errorf("no leader elected within %s (member %s cannot reach a quorum); retry later, or see `vela members ls`", s.cfg.LeaderWait, s.cfg.Raft.ID())
		case <-t.C:
		}
	}
}

func newForwarder(s *Server, tr http.RoundTripper) http.Handler {
	return &httputil.ReverseProxy{
		Transport: tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			leader := pr.In.Context().Value(leaderKey{}).(string)
			pr.Out.URL.Scheme = "https"
			pr.Out.URL.Host = leader
			pr.Out.Host = leader
			pr.Out.Header.Set(hdrForwardedBy, s.cfg.Raft.ID())
			pr.Out.Header.Del(hdrForwardedCert)
			if pr.In.TLS != nil && len(pr.In.TLS.VerifiedChains) > 0 {
				pr.Out.Header.Set(hdrForwardedCert, base64.StdEncoding.EncodeToString(pr.In.TLS.VerifiedChains[0][0].Raw))
			}
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// A failed dial never reached the leader: nothing was proposed.
			var op *net.OpError
			notApplied := errors.As(err, &op) && op.Op == "dial"
			writeErr(w, &apiError{Status: http.StatusServiceUnavailable, RetryAfter: 1, NotApplied: notApplied, Msg: fmt.Sprintf("member %s could not reach the leader: %v; retry", s.cfg.Raft.ID(), err)})
		},
	}
}

// checkDisk refuses writes when the data dir's file system is nearly full,
// before Raft would fail to store the entry.
func (s *Server) checkDisk() error {
	if s.cfg.DataDir == "" {
		return nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(s.cfg.DataDir, &st); err != nil {
		return errf(http.StatusInsufficientStorage, "", "member %s cannot check free space of data dir %s: %v", s.cfg.Raft.ID(), s.cfg.DataDir, err)
	}
	free := st.Bavail * uint64(st.Bsize)
	if free < s.cfg.MinFreeBytes {
		s.metrics.diskFull.Set(1)
		return &apiError{Status: http.StatusInsufficientStorage, RetryAfter: 10, NotApplied: true, Msg: fmt.Sprintf("member %s refuses writes: data dir %s has %d KiB free, below the %d MiB reserve; free space there (writes resume by themselves)", s.cfg.Raft.ID(), s.cfg.DataDir, free>>10, s.cfg.MinFreeBytes>>20)}
	}
	s.metrics.diskFull.Set(0)
	return nil
}
