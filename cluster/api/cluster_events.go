package api

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/vela-appliance/vela/cluster/fsm"
)

// clusterEventRoutes lets a tenant read its own clusters' events: the
// changes of the cluster and its nodes, and the autoscaler's verdicts with
// their figures. The name is looked up in the caller's tenant (an admin
// names the tenant with ?tenant=), so another tenant's cluster is simply
// not found: 404, telling nothing about it.
func (s *Server) clusterEventRoutes() []route {
	return []route{
		{"GET", "/v1/clusters/{name}/events", consistent, users,
			"A cluster's events (its own and its nodes' changes, autoscale verdicts with figures), oldest first: ?after=N&limit=M, or the last M with ?last=M; ?action=autoscale keeps one action. A tenant token reads its own clusters; an admin adds ?tenant=T.",
			nil, []fsm.Event{}, s.clusterEvents},
	}
}

func (s *Server) clusterEvents(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	name, tenant := r.PathValue("name"), r.URL.Query().Get("tenant")
	switch {
	case p.Kind == fsm.ScopeTenant && tenant == "":
		tenant = p.Tenant
	case p.Kind == fsm.ScopeAdmin && tenant == "":
		return errf(http.StatusBadRequest, "tenant", "an admin token belongs to no tenant: name the cluster's tenant with ?tenant=NAME (`vela events --cluster NAME --tenant T`)")
	}
	after, limit, err := page(r)
	if err != nil {
		return err
	}
	action := r.URL.Query().Get("action")
	last := 0
	if v := r.URL.Query().Get("last"); v != "" {
		if last, err = strconv.Atoi(v); err != nil || last < 1 || last > 1000 {
			return errf(http.StatusBadRequest, "last", "want 1 to 1000, got %q", v)
		}
	}
	var (
		out   []fsm.Event
		found bool
	)
	if ownedBy(p, tenant) {
		s.view(func(st *fsm.State) {
			if _, found = st.Clusters[tenant+"/"+name]; found {
				out = st.ClusterEvents(tenant+"/"+name, after, 0)
			}
		})
	}
	if !found {
		return errf(http.StatusNotFound, "", "cluster %q not found; list yours with `vela cluster ls`", name)
	}
	if action != "" {
		out = slices.DeleteFunc(out, func(e fsm.Event) bool { return e.Action != action })
	}
	if last > 0 {
		out = out[max(0, len(out)-last):]
	} else if len(out) > limit {
		out = out[:limit]
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// page reads ?after=N (an event index, default 0) and ?limit=M (1 to 1000,
// default 100).
func page(r *http.Request) (after uint64, limit int, err error) {
	q := r.URL.Query()
	limit = 100
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			return 0, 0, errf(http.StatusBadRequest, "after", "want an event index, got %q", v)
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return 0, 0, errf(http.StatusBadRequest, "limit", "want 1 to 1000, got %q", v)
		}
		limit = n
	}
	return after, limit, nil
}
