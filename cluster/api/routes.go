package api

import (
	"net/http"
	"strconv"

	"github.com/vela-appliance/vela/cluster/fsm"
)

// placement says where a route runs.
type placement int

const (
	local      placement = iota // on the member that got it
	onLeader                    // writes: forwarded to the leader
	consistent                  // reads: on the leader after a read barrier, or local with ?stale=true
)

// route is one endpoint; the OpenAPI document is built from this table.
type route struct {
	Method, Path string
	Place        placement
	Auth         access
	Summary      string
	Request      any // a value of the request body type (nil: none)
	Response     any // a value of the response body type
	Handle       func(http.ResponseWriter, *http.Request) error
}

func (s *Server) routes() []route {
	rs := []route{
		{"GET", "/healthz", local, anyone, "Liveness: the process serves HTTP.", nil, "ok", s.healthz},
		{"GET", "/readyz", local, anyone, "Readiness: a leader is known and this member has caught up.", nil, Status{}, s.readyz},
		{"GET", "/metrics", local, anyone, "Prometheus metrics (raft state, commit latency, applied index, leader changes).", nil, "text", s.metricsHandler},
		{"GET", "/v1/openapi.json", local, anyone, "This document.", nil, map[string]any{}, s.openapi},
		{"GET", "/v1/cluster", local, anyone, "Cluster identity (used by joining members to detect a stale data dir).", nil, ClusterInfo{}, s.clusterInfo},
		{"GET", "/v1/status", local, membersOr, "This member's own Raft status.", nil, Status{}, s.status},
		{"POST", "/v1/join", onLeader, anyone, "Use a join token: sign the joiner's certificate request.", JoinRequest{}, JoinResponse{}, s.join},
		{"POST", "/v1/members", onLeader, memberOnly, "Add the calling member (after /v1/join) to Raft: a voter, or a non-voter past 5 voters.", AddMemberRequest{}, MemberStatus{}, s.addMember},
		{"GET", "/v1/members", consistent, adminOnly, "List members with role, leader, last contact and applied index.", nil, []MemberStatus{}, s.listMembers},
		{"DELETE", "/v1/members/{id}", onLeader, adminOnly, "Remove a member from Raft.", nil, nil, s.removeMember},
		{"POST", "/v1/members/tokens", onLeader, adminOnly, "Issue a single-use, expiring join token.", TokenRequest{}, TokenResponse{}, s.joinToken},
		{"POST", "/v1/tokens", onLeader, adminOnly, "Create an API token (the secret is shown once).", APITokenRequest{}, TokenResponse{}, s.createAPIToken},
		{"GET", "/v1/tokens", consistent, adminOnly, "List API tokens (hashes omitted).", nil, []fsm.APIToken{}, s.listAPITokens},
		{"DELETE", "/v1/tokens/{id}", onLeader, adminOnly, "Revoke an API token.", nil, nil, s.deleteAPIToken},
		{"GET", "/v1/events", consistent, adminOnly, "Events after an index: ?after=N&limit=M.", nil, []fsm.Event{}, s.events},
	}
	rs = append(rs, s.machineRoutes()...)
	rs = append(rs, s.agentRoutes()...)
	rs = append(rs, s.tenantRoutes()...)
	rs = append(rs, s.clusterRoutes()...)
	rs = append(rs, s.clusterEventRoutes()...)
	return rs
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "text/plain")
	_, err := w.Write([]byte("ok\n"))
	return err
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	after, limit := uint64(0), 100
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return errf(http.StatusBadRequest, "after", "want an event index, got %q", v)
		}
		after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errf(http.StatusBadRequest, "limit", "want 1 to 1000, got %q", v)
		}
		limit = n
	}
	var out []fsm.Event
	s.view(func(st *fsm.State) { out = st.EventsAfter(after, limit) })
	if out == nil {
		out = []fsm.Event{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
