package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vela-appliance/vela/cluster/autoscale"
	"github.com/vela-appliance/vela/cluster/controller/credentials"
	"github.com/vela-appliance/vela/cluster/fsm"
)

// clusterRoutes are the tenant-facing cluster endpoints. A tenant token
// reaches only its own tenant's paths (403 elsewhere); an admin reaches all.
func (s *Server) clusterRoutes() []route {
	const base = "/v1/tenants/{tenant}/clusters"
	return []route{
		{"GET", "/v1/clusters", consistent, users, "List clusters (a tenant sees its own).", nil, []fsm.Cluster{}, s.listClusters},
		{"GET", "/v1/nodes", consistent, users, "List nodes (a tenant sees its own; TLS keys omitted).", nil, []fsm.Node{}, s.listNodes},
		{"GET", base, consistent, users, "List a tenant's clusters.", nil, []fsm.Cluster{}, s.listTenantClusters},
		{"PUT", base + "/{name}", onLeader, users, "Create a cluster of N nodes (quota checked; idempotent for the same N).", ClusterRequest{}, fsm.Cluster{}, s.putCluster},
		{"GET", base + "/{name}", consistent, users, "Get a cluster: state, reason, next step, health, managers.", nil, fsm.Cluster{}, s.getCluster},
		{"DELETE", base + "/{name}", onLeader, users, "Delete a cluster: its nodes, then the record (state deleting until gone).", nil, fsm.Cluster{}, s.deleteCluster},
		{"POST", base + "/{name}/grow", onLeader, users, "Add nodes; they join the Swarm (managers up to 3, then workers).", GrowRequest{}, fsm.Cluster{}, s.growCluster},
		{"POST", base + "/{name}/resize", onLeader, users, "Set the node count; shrinking removes exactly the nodes named in remove (drain, leave, delete).", ResizeRequest{}, fsm.Cluster{}, s.resizeCluster},
		{"POST", base + "/{name}/rebuild", onLeader, users, "Recreate the Swarm control layer from the nodes (force-new-cluster on a surviving manager); volumes stay.", nil, fsm.Cluster{}, s.rebuildCluster},
		{"POST", base + "/{name}/autoscale", onLeader, users, "Turn the autoscaler on or off: it adds nodes (never removes) when reservations reach the threshold or tasks are pending for lack of resources.", AutoscaleRequest{}, fsm.Cluster{}, s.autoscaleCluster},
		{"GET", base + "/{name}/nodes", consistent, users, "List the cluster's nodes (TLS keys omitted).", nil, []fsm.Node{}, s.listClusterNodes},
		{"POST", base + "/{name}/credentials", consistent, users, "Sign a client certificate for the caller's CSR (the key stays on the client); returns the CA, the certificate and DOCKER_HOST.", CredentialsRequest{}, Credentials{}, s.signCredentials},
		{"GET", base + "/{name}/credentials", consistent, users, "A zip bundle: ca.pem, cert.pem, key.pem (made by the server, per request, never stored: less safe than POST), docker.env/.fish/.ps1/.cmd, README.md.", nil, "zip", s.credentialsZip},
	}
}

// public is a cluster as the API returns it: never the CA key.
func public(c fsm.Cluster) fsm.Cluster {
	c.CAKey = ""
	return c
}

func (s *Server) listClusters(w http.ResponseWriter, r *http.Request) error {
	return listOwned(s, w, r, func(st *fsm.State) map[string]fsm.Cluster { return publicAll(st.Clusters, "") },
		func(c fsm.Cluster) string { return c.Tenant })
}

func publicAll(m map[string]fsm.Cluster, tenant string) map[string]fsm.Cluster {
	out := make(map[string]fsm.Cluster, len(m))
	for k, c := range m {
		if tenant == "" || c.Tenant == tenant {
			out[k] = public(c)
		}
	}
	return out
}

func (s *Server) listNodes(w http.ResponseWriter, r *http.Request) error {
	return listOwned(s, w, r, func(st *fsm.State) map[string]fsm.Node { return withoutKeys(st.Nodes) },
		func(n fsm.Node) string { return n.Tenant })
}

// tenantPath checks that the caller may act on the path's tenant.
func tenantPath(r *http.Request) (string, error) {
	tenant := r.PathValue("tenant")
	p := principalFrom(r.Context())
	if !ownedBy(p, tenant) {
		return "", errf(http.StatusForbidden, "tenant", "%s may not access clusters of tenant %q; use a token of that tenant", p, tenant)
	}
	return tenant, nil
}

// clusterOf reads the path's cluster after checking the caller's tenant.
func (s *Server) clusterOf(r *http.Request) (fsm.Cluster, error) {
	tenant, err := tenantPath(r)
	if err != nil {
		return fsm.Cluster{}, err
	}
	name := r.PathValue("name")
	var (
		c  fsm.Cluster
		ok bool
	)
	s.view(func(st *fsm.State) { c, ok = st.Clusters[tenant+"/"+name] })
	if !ok {
		return c, errf(http.StatusNotFound, "", "cluster %q of tenant %q not found; list them with `vela cluster ls`", name, tenant)
	}
	return c, nil
}

func (s *Server) listTenantClusters(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantPath(r)
	if err != nil {
		return err
	}
	var out []fsm.Cluster
	s.view(func(st *fsm.State) { out = fsm.Sorted(publicAll(st.Clusters, tenant)) })
	if out == nil {
		out = []fsm.Cluster{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getCluster(w http.ResponseWriter, r *http.Request) error {
	c, err := s.clusterOf(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, public(c))
	return nil
}

func (s *Server) listClusterNodes(w http.ResponseWriter, r *http.Request) error {
	c, err := s.clusterOf(r)
	if err != nil {
		return err
	}
	out := []fsm.Node{}
	s.view(func(st *fsm.State) {
		for _, n := range fsm.Sorted(st.Nodes) {
			if n.Tenant == c.Tenant && n.Cluster == c.Name {
				n.TLS = withoutKey(n.TLS)
				out = append(out, n)
			}
		}
	})
	writeJSON(w, http.StatusOK, out)
	return nil
}

// quotaCheck refuses up front, with the figures and what to do.
func (s *Server) quotaCheck(tenant, name string, nodes int, creating bool) error {
	var (
		t     fsm.Tenant
		ok    bool
		owned []string
	)
	s.view(func(st *fsm.State) {
		t, ok = st.Tenants[tenant]
		for _, c := range fsm.Sorted(st.Clusters) {
			if c.Tenant == tenant {
				owned = append(owned, c.Name)
			}
		}
	})
	switch {
	case !ok:
		return errf(http.StatusNotFound, "tenant", "tenant %q does not exist; an admin creates it with `vela tenants create %s`", tenant, tenant)
	case creating && len(owned) >= t.Quota.MaxClusters:
		return errf(http.StatusConflict, "", "quota exceeded: tenant %q has %d of %d clusters (%s); remove one with `vela cluster rm`, or ask an admin to raise max_clusters (`vela quotas set %s --max-clusters N`)",
			tenant, len(owned), t.Quota.MaxClusters, strings.Join(owned, ", "), tenant)
	case nodes > t.Quota.MaxNodesPerCluster:
		return errf(http.StatusConflict, "nodes", "quota exceeded: cluster %q would have %d nodes, tenant %q may have %d per cluster; ask an admin to raise max_nodes_per_cluster (`vela quotas set %s --max-nodes-per-cluster N`)",
			name, nodes, tenant, t.Quota.MaxNodesPerCluster, tenant)
	}
	return nil
}

func (s *Server) putCluster(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantPath(r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := checkName("name", name); err != nil {
		return err
	}
	var req ClusterRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Nodes < 1 {
		return errf(http.StatusBadRequest, "nodes", "want at least 1, got %d", req.Nodes)
	}
	var (
		old    fsm.Cluster
		exists bool
	)
	s.view(func(st *fsm.State) { old, exists = st.Clusters[tenant+"/"+name] })
	if exists {
		if old.Nodes == req.Nodes && !old.Deleting {
			writeJSON(w, http.StatusOK, public(old))
			return nil
		}
		return errf(http.StatusConflict, "name", "cluster %q of tenant %q exists with %d nodes (state %s); change it with `vela cluster grow` or `vela cluster resize`", name, tenant, old.Nodes, old.State)
	}
	if err := s.quotaCheck(tenant, name, req.Nodes, true); err != nil {
		return err
	}
	m := s.meta(r)
	caCert, caKey, err := credentials.NewCA(tenant+"/"+name, m.Time)
	if err != nil {
		return err
	}
	c := fsm.Cluster{Tenant: tenant, Name: name, Nodes: req.Nodes, State: fsm.ClusterNew, Created: m.Time, Generation: 1,
		CACert: string(caCert), CAKey: string(caKey)}
	if req.Autoscale {
		c.Autoscale = &fsm.AutoscalePolicy{Enabled: true, Threshold: autoscale.DefaultThreshold}
	}
	res, err := s.propose(r, fsm.TypeClusterUpsert, fsm.Upsert[fsm.Cluster]{Meta: m, Object: c})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, public(res.Value.(fsm.Cluster)))
	return nil
}

// changeCluster applies a spec change: reads the cluster, lets fn change
// it (or refuse), bumps the generation and proposes it.
func (s *Server) changeCluster(w http.ResponseWriter, r *http.Request, status int, fn func(c *fsm.Cluster) error) error {
	c, err := s.clusterOf(r)
	if err != nil {
		return err
	}
	if c.Deleting {
		return errf(http.StatusConflict, "", "cluster %q is being deleted (state %s); wait for it to go, or create a new one", c.Name, c.State)
	}
	if err := fn(&c); err != nil {
		return err
	}
	c.Generation++
	res, err := s.propose(r, fsm.TypeClusterUpsert, fsm.Upsert[fsm.Cluster]{Meta: s.meta(r), Object: c})
	if err != nil {
		return err
	}
	writeJSON(w, status, public(res.Value.(fsm.Cluster)))
	return nil
}

func (s *Server) growCluster(w http.ResponseWriter, r *http.Request) error {
	var req GrowRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Nodes < 1 {
		return errf(http.StatusBadRequest, "nodes", "want at least 1 node to add, got %d", req.Nodes)
	}
	return s.changeCluster(w, r, http.StatusOK, func(c *fsm.Cluster) error {
		if err := s.quotaCheck(c.Tenant, c.Name, c.Nodes+req.Nodes, false); err != nil {
			return err
		}
		c.Nodes += req.Nodes
		c.State, c.Remove = fsm.ClusterGrowing, nil
		return nil
	})
}

func (s *Server) resizeCluster(w http.ResponseWriter, r *http.Request) error {
	var req ResizeRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Nodes < 1 {
		return errf(http.StatusBadRequest, "nodes", "want at least 1, got %d; to remove the cluster use `vela cluster rm`", req.Nodes)
	}
	return s.changeCluster(w, r, http.StatusOK, func(c *fsm.Cluster) error {
		var live []string
		s.view(func(st *fsm.State) {
			for _, n := range fsm.Sorted(st.Nodes) {
				if n.Tenant == c.Tenant && n.Cluster == c.Name && n.Desired != fsm.NodeDesiredDeleted {
					live = append(live, n.Name)
				}
			}
		})
		for i, name := range req.Remove {
			if !slices.Contains(live, name) {
				return errf(http.StatusBadRequest, fmt.Sprintf("remove[%d]", i), "node %q is not a node of cluster %q (its nodes: %s)", name, c.Name, strings.Join(live, ", "))
			}
		}
		keep := len(live) - len(req.Remove)
		if req.Nodes < keep {
			return errf(http.StatusConflict, "nodes", "shrinking cluster %q to %d nodes needs --remove naming %d more node(s) (nodes are never removed implicitly); its nodes: %s",
				c.Name, req.Nodes, keep-req.Nodes, strings.Join(live, ", "))
		}
		if req.Nodes > c.Nodes {
			if err := s.quotaCheck(c.Tenant, c.Name, req.Nodes, false); err != nil {
				return err
			}
		}
		c.Nodes, c.Remove, c.State = req.Nodes, slices.Clone(req.Remove), fsm.ClusterResizing
		return nil
	})
}

func (s *Server) rebuildCluster(w http.ResponseWriter, r *http.Request) error {
	return s.changeCluster(w, r, http.StatusOK, func(c *fsm.Cluster) error {
		c.Rebuild, c.State = c.Generation+1, fsm.ClusterRebuilding
		return nil
	})
}

func (s *Server) deleteCluster(w http.ResponseWriter, r *http.Request) error {
	c, err := s.clusterOf(r)
	if err == nil && c.Deleting {
		writeJSON(w, http.StatusAccepted, public(c))
		return nil
	}
	return s.changeCluster(w, r, http.StatusAccepted, func(c *fsm.Cluster) error {
		c.Deleting, c.State = true, fsm.ClusterDeleting
		return nil
	})
}

func (s *Server) autoscaleCluster(w http.ResponseWriter, r *http.Request) error {
	var req AutoscaleRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Threshold < 0 || req.Threshold > 100 {
		return errf(http.StatusBadRequest, "threshold", "want a percentage from 1 to 100, got %d", req.Threshold)
	}
	if req.Max < 0 {
		return errf(http.StatusBadRequest, "max", "must not be negative")
	}
	var cooldown time.Duration
	if req.Cooldown != "" {
		d, err := time.ParseDuration(req.Cooldown)
		if err != nil || d < 0 || d > 24*time.Hour {
			return errf(http.StatusBadRequest, "cooldown", "%q: want a duration up to 24h, e.g. 60s", req.Cooldown)
		}
		cooldown = d
	}
	return s.changeCluster(w, r, http.StatusOK, func(c *fsm.Cluster) error {
		p := fsm.AutoscalePolicy{Enabled: req.Enabled, Threshold: float64(req.Threshold) / 100, Max: req.Max, CooldownSeconds: int(cooldown / time.Second)}
		if p.Threshold == 0 {
			p.Threshold = autoscale.DefaultThreshold
		}
		if c.Autoscale != nil {
			p.LastScaleUp, p.LastDecision = c.Autoscale.LastScaleUp, c.Autoscale.LastDecision
		}
		c.Autoscale = &p
		return nil
	})
}
