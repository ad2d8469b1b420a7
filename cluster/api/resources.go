package api

import (
	"net/http"

	"github.com/vela-appliance/vela/cluster/fsm"
)

// resource is a named object kind with admin CRUD endpoints under
// /v1/{plural}: list, get, put (create or replace) and delete.
type resource[T any] struct {
	plural     string
	upsertType fsm.Type
	deleteType fsm.Type
	table      func(*fsm.State) map[string]T
	// prepare checks a decoded object and fixes its name from the path.
	prepare func(name string, obj *T) error
	// writers may put and delete (default admin only); selfOnly limits a
	// non-admin writer to the object named like its certificate.
	writers  access
	selfOnly bool
}

var tenants = resource[fsm.Tenant]{
	plural: "tenants", upsertType: fsm.TypeTenantUpsert, deleteType: fsm.TypeTenantDelete,
	table: func(s *fsm.State) map[string]fsm.Tenant { return s.Tenants },
	prepare: func(name string, t *fsm.Tenant) error {
		t.Name, t.ModifyIndex = name, 0
		switch {
		case t.Quota.MaxClusters < 0 || t.Quota.MaxClusters > 1000:
			return errf(http.StatusBadRequest, "quota.max_clusters", "want 0 (default 3) to 1000, got %d", t.Quota.MaxClusters)
		case t.Quota.MaxNodesPerCluster < 0 || t.Quota.MaxNodesPerCluster > 1000:
			return errf(http.StatusBadRequest, "quota.max_nodes_per_cluster", "want 0 (default 10) to 1000, got %d", t.Quota.MaxNodesPerCluster)
		}
		return nil
	},
}

// mayWrite applies selfOnly.
func (rs resource[T]) mayWrite(r *http.Request, name string) error {
	p := principalFrom(r.Context())
	if rs.selfOnly && p.Kind != fsm.ScopeAdmin && p.Name != name {
		return errf(http.StatusForbidden, "name", "%s may only write its own %s entry %q", p, rs.plural, p.Name)
	}
	return nil
}

func (rs resource[T]) routes(s *Server) []route {
	var zero T
	base := "/v1/" + rs.plural
	writers := rs.writers
	if writers == nil {
		writers = adminOnly
	}
	return []route{
		{"GET", base, consistent, adminOnly, "List " + rs.plural + ".", nil, []T{}, func(w http.ResponseWriter, r *http.Request) error {
			var out []T
			s.view(func(st *fsm.State) { out = fsm.Sorted(rs.table(st)) })
			writeJSON(w, http.StatusOK, out)
			return nil
		}},
		{"GET", base + "/{name}", consistent, adminOnly, "Get one of " + rs.plural + ".", nil, zero, func(w http.ResponseWriter, r *http.Request) error {
			name := r.PathValue("name")
			var (
				out T
				ok  bool
			)
			s.view(func(st *fsm.State) { out, ok = rs.table(st)[name] })
			if !ok {
				return errf(http.StatusNotFound, "", "%s %q not found", rs.plural, name)
			}
			writeJSON(w, http.StatusOK, out)
			return nil
		}},
		{"PUT", base + "/{name}", onLeader, writers, "Create or replace one of " + rs.plural + ".", zero, zero, func(w http.ResponseWriter, r *http.Request) error {
			name := r.PathValue("name")
			if err := checkName("name", name); err != nil {
				return err
			}
			if err := rs.mayWrite(r, name); err != nil {
				return err
			}
			var obj T
			if err := decode(w, r, &obj); err != nil {
				return err
			}
			if err := rs.prepare(name, &obj); err != nil {
				return err
			}
			res, err := s.propose(r, rs.upsertType, fsm.Upsert[T]{Meta: s.meta(r), Object: obj})
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, res.Value)
			return nil
		}},
		{"DELETE", base + "/{name}", onLeader, writers, "Delete one of " + rs.plural + ".", nil, nil, func(w http.ResponseWriter, r *http.Request) error {
			if err := rs.mayWrite(r, r.PathValue("name")); err != nil {
				return err
			}
			if _, err := s.propose(r, rs.deleteType, fsm.Delete{Meta: s.meta(r), Key: r.PathValue("name")}); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}},
	}
}
