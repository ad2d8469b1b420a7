package api

import (
	"net/http"
	"time"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
)

// MaxJoinTTL bounds a join token's life.
const MaxJoinTTL = 24 * time.Hour

func (s *Server) joinToken(w http.ResponseWriter, r *http.Request) error {
	var req TokenRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Role == "" {
		req.Role = fsm.JoinMember
	}
	if req.Role != fsm.JoinMember && req.Role != fsm.JoinAgent {
		return errf(http.StatusBadRequest, "role", "%q: want member or agent", req.Role)
	}
	ttl := time.Hour
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d <= 0 || d > MaxJoinTTL {
			return errf(http.StatusBadRequest, "ttl", "%q: want a duration from 1s to 24h, e.g. 30m", req.TTL)
		}
		ttl = d
	}
	token, id, hash := pki.NewToken(pki.PrefixJoin)
	m := s.meta(r)
	jt := fsm.JoinToken{ID: id, Hash: hash, Role: req.Role, Created: m.Time, Expires: m.Time.Add(ttl)}
	if _, err := s.propose(r, fsm.TypeJoinTokenCreate, fsm.Upsert[fsm.JoinToken]{Meta: m, Object: jt}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, TokenResponse{ID: id, Token: token, Expires: jt.Expires})
	return nil
}

func (s *Server) createAPIToken(w http.ResponseWriter, r *http.Request) error {
	var req APITokenRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := checkName("name", req.Name); err != nil {
		return err
	}
	switch req.Scope {
	case fsm.ScopeAdmin:
		if req.Tenant != "" {
			return errf(http.StatusBadRequest, "tenant", "an admin token belongs to no tenant")
		}
	case fsm.ScopeTenant:
		var ok bool
		s.view(func(st *fsm.State) { _, ok = st.Tenants[req.Tenant] })
		if !ok {
			return errf(http.StatusBadRequest, "tenant", "tenant %q does not exist; create it with PUT /v1/tenants/%s", req.Tenant, req.Tenant)
		}
	default:
		return errf(http.StatusBadRequest, "scope", "%q: want admin or tenant", req.Scope)
	}
	token, id, hash := pki.NewToken(pki.PrefixAPI)
	m := s.meta(r)
	t := fsm.APIToken{ID: id, Name: req.Name, Hash: hash, Scope: req.Scope, Tenant: req.Tenant, Created: m.Time}
	if _, err := s.propose(r, fsm.TypeAPITokenUpsert, fsm.Upsert[fsm.APIToken]{Meta: m, Object: t}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, TokenResponse{ID: id, Token: token})
	return nil
}

func (s *Server) listAPITokens(w http.ResponseWriter, _ *http.Request) error {
	var out []fsm.APIToken
	s.view(func(st *fsm.State) { out = fsm.Sorted(st.APITokens) })
	for i := range out {
		out[i].Hash = ""
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteAPIToken(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.propose(r, fsm.TypeAPITokenDelete, fsm.Delete{Meta: s.meta(r), Key: r.PathValue("id")}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ownedBy tells whether the principal may see a tenant's objects.
func ownedBy(p principal, tenant string) bool {
	return p.Kind == fsm.ScopeAdmin || p.Tenant == tenant
}

// listOwned writes the objects of a table the caller may see: all for an
// admin, a tenant's own otherwise.
func listOwned[T any](s *Server, w http.ResponseWriter, r *http.Request, table func(*fsm.State) map[string]T, tenantOf func(T) string) error {
	p := principalFrom(r.Context())
	out := []T{}
	s.view(func(st *fsm.State) {
		for _, o := range fsm.Sorted(table(st)) {
			if ownedBy(p, tenantOf(o)) {
				out = append(out, o)
			}
		}
	})
	writeJSON(w, http.StatusOK, out)
	return nil
}
