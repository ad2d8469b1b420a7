package api

import (
	"net/http"
	"strings"

	"github.com/vela-appliance/vela/cluster/fsm"
)

// tenantRoutes are the admin tenant endpoints (the generic resource, with
// a delete that refuses while the tenant owns clusters and revokes its
// tokens), quotas, and whoami.
func (s *Server) tenantRoutes() []route {
	var rs []route
	for _, rt := range tenants.routes(s) {
		if rt.Method == "DELETE" {
			rt.Summary = "Delete a tenant that owns no clusters; its API tokens are revoked."
			rt.Handle = s.deleteTenant
		}
		rs = append(rs, rt)
	}
	return append(rs,
		route{"GET", "/v1/tenants/{tenant}/quota", consistent, users, "A tenant's quota and usage (a tenant reads its own).", nil, QuotaStatus{}, s.getQuota},
		route{"PUT", "/v1/tenants/{tenant}/quota", onLeader, adminOnly, "Set a tenant's quota (0 keeps the default).", fsm.Quota{}, QuotaStatus{}, s.putQuota},
		route{"GET", "/v1/whoami", local, anyone, "Who the API takes the caller for (the CLI finds a tenant token's tenant with it).", nil, Whoami{}, s.whoami},
	)
}

// QuotaStatus is a tenant's quota with what it uses.
type QuotaStatus struct {
	Tenant   string    `json:"tenant"`
	Quota    fsm.Quota `json:"quota"`
	Clusters int       `json:"clusters"`
	// Largest is the node count of the tenant's largest cluster.
	Largest int `json:"largest"`
}

func (s *Server) quotaOf(tenant string) (QuotaStatus, bool) {
	q := QuotaStatus{Tenant: tenant}
	var ok bool
	s.view(func(st *fsm.State) {
		var t fsm.Tenant
		t, ok = st.Tenants[tenant]
		q.Quota = t.Quota
		for _, c := range st.Clusters {
			if c.Tenant == tenant {
				q.Clusters++
				q.Largest = max(q.Largest, c.Nodes)
			}
		}
	})
	return q, ok
}

func (s *Server) getQuota(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantPath(r)
	if err != nil {
		return err
	}
	q, ok := s.quotaOf(tenant)
	if !ok {
		return errf(http.StatusNotFound, "", "tenant %q not found; list them with `vela tenants ls`", tenant)
	}
	writeJSON(w, http.StatusOK, q)
	return nil
}

func (s *Server) putQuota(w http.ResponseWriter, r *http.Request) error {
	tenant := r.PathValue("tenant")
	var q fsm.Quota
	if err := decode(w, r, &q); err != nil {
		return err
	}
	var (
		t  fsm.Tenant
		ok bool
	)
	s.view(func(st *fsm.State) { t, ok = st.Tenants[tenant] })
	if !ok {
		return errf(http.StatusNotFound, "", "tenant %q not found; create it with `vela tenants create %s`", tenant, tenant)
	}
	t.Quota = q
	if err := tenants.prepare(tenant, &t); err != nil {
		return err
	}
	if _, err := s.propose(r, fsm.TypeTenantUpsert, fsm.Upsert[fsm.Tenant]{Meta: s.meta(r), Object: t}); err != nil {
		return err
	}
	out, _ := s.quotaOf(tenant)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteTenant(w http.ResponseWriter, r *http.Request) error {
	tenant := r.PathValue("name")
	var (
		owned  []string
		tokens []string
		ok     bool
	)
	s.view(func(st *fsm.State) {
		_, ok = st.Tenants[tenant]
		for _, c := range fsm.Sorted(st.Clusters) {
			if c.Tenant == tenant {
				owned = append(owned, c.Name)
			}
		}
		for _, t := range fsm.Sorted(st.APITokens) {
			if t.Scope == fsm.ScopeTenant && t.Tenant == tenant {
				tokens = append(tokens, t.ID)
			}
		}
	})
	if !ok {
		return errf(http.StatusNotFound, "", "tenant %q not found", tenant)
	}
	if len(owned) > 0 {
		return errf(http.StatusConflict, "", "tenant %q still owns %d cluster(s): %s; remove them first (`vela cluster rm NAME --tenant %s`)", tenant, len(owned), strings.Join(owned, ", "), tenant)
	}
	for _, id := range tokens {
		if _, err := s.propose(r, fsm.TypeAPITokenDelete, fsm.Delete{Meta: s.meta(r), Key: id}); err != nil {
			return err
		}
	}
	if _, err := s.propose(r, fsm.TypeTenantDelete, fsm.Delete{Meta: s.meta(r), Key: tenant}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	writeJSON(w, http.StatusOK, Whoami{Kind: p.Kind, Name: p.Name, Tenant: p.Tenant})
	return nil
}
