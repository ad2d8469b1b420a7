package fsm

import (
	"encoding/json"
	"fmt"
)

// handler applies one command body to the state (under the write lock) and
// returns the result value and the event to record (nil: none).
type handler func(s *State, index uint64, body []byte) (any, *Event, error)

// handlers is the dispatch table, one entry per Type.
var handlers = map[Type]handler{
	TypeClusterInit:       applyClusterInit,
	TypeMemberUpsert:      upsert("member", func(s *State) map[string]Member { return s.Members }, func(m *Member, _ uint64) string { return m.ID }, nil),
	TypeMemberDelete:      del("member", func(s *State) map[string]Member { return s.Members }),
	TypeMachineUpsert:     upsert("machine", func(s *State) map[string]Machine { return s.Machines }, func(m *Machine, i uint64) string { m.ModifyIndex = i; return m.Name }, admitDiscovered),
	TypeMachineDelete:     del("machine", func(s *State) map[string]Machine { return s.Machines }),
	TypeHypervisorUpsert:  upsert("hypervisor", func(s *State) map[string]Hypervisor { return s.Hypervisors }, func(h *Hypervisor, i uint64) string { h.ModifyIndex = i; return h.Name }, nil),
	TypeHypervisorDelete:  del("hypervisor", func(s *State) map[string]Hypervisor { return s.Hypervisors }),
	TypeTenantUpsert:      upsert("tenant", func(s *State) map[string]Tenant { return s.Tenants }, keyTenant, nil),
	TypeTenantDelete:      del("tenant", func(s *State) map[string]Tenant { return s.Tenants }),
	TypeAPITokenUpsert:    upsert("api_token", func(s *State) map[string]APIToken { return s.APITokens }, func(t *APIToken, i uint64) string { t.ModifyIndex = i; return t.ID }, nil),
	TypeAPITokenDelete:    del("api_token", func(s *State) map[string]APIToken { return s.APITokens }),
	TypeClusterUpsert:     upsert("cluster", func(s *State) map[string]Cluster { return s.Clusters }, func(c *Cluster, i uint64) string { c.ModifyIndex = i; return c.Key() }, checkCluster),
	TypeClusterDelete:     del("cluster", func(s *State) map[string]Cluster { return s.Clusters }),
	TypeNodeUpsert:        upsert("node", func(s *State) map[string]Node { return s.Nodes }, func(n *Node, i uint64) string { n.ModifyIndex = i; return n.Name }, checkNode),
	TypeNodeDelete:        tagNodeDelete(del("node", func(s *State) map[string]Node { return s.Nodes })),
	TypeJoinTokenCreate:   upsert("join_token", func(s *State) map[string]JoinToken { return s.JoinTokens }, func(t *JoinToken, _ uint64) string { return t.ID }, nil),
	TypeJoinTokenConsume:  applyConsumeJoinToken,
	TypeSubnetUpsert:      upsert("subnet", func(s *State) map[string]Subnet { return s.Subnets }, func(n *Subnet, i uint64) string { n.ModifyIndex = i; return n.Key() }, nil),
	TypeSubnetDelete:      del("subnet", func(s *State) map[string]Subnet { return s.Subnets }),
	TypeClusterStatus:     applyClusterStatus,
	TypeNodeStatus:        applyNodeStatus,
	TypeHypervisorReport:  applyHypervisorReport,
	TypeInstallConfigPut:  applyInstallConfigPut,
	TypeMachineDiscovered: applyMachineDiscovered,
	TypeDiscoveredDelete:  del("discovered_machine", func(s *State) map[string]DiscoveredMachine { return s.Discovered }),
	TypeAutoscaleNote:     applyAutoscaleNote,
	TypeBootLeases:        applyBootLeases,
}

func keyTenant(t *Tenant, i uint64) string {
	t.ModifyIndex = i
	if t.Quota.MaxClusters == 0 {
		t.Quota.MaxClusters = DefaultMaxClusters
	}
	if t.Quota.MaxNodesPerCluster == 0 {
		t.Quota.MaxNodesPerCluster = DefaultMaxNodesPerCluster
	}
	return t.Name
}

func upsert[T any](kind string, table func(*State) map[string]T, key func(*T, uint64) string, check func(*State, *T) error) handler {
	return func(s *State, index uint64, body []byte) (any, *Event, error) {
		var u Upsert[T]
		if err := json.Unmarshal(body, &u); err != nil {
			return nil, nil, fmt.Errorf("decode %s upsert at index %d: %w", kind, index, err)
		}
		k := key(&u.Object, index)
		if k == "" {
			return nil, nil, fmt.Errorf("%s has an empty name: %w", kind, ErrConflict)
		}
		if check != nil {
			if err := check(s, &u.Object); err != nil {
				return nil, nil, err
			}
		}
		t := table(s)
		action := "update"
		if _, ok := t[k]; !ok {
			action = "create"
		}
		t[k] = u.Object
		return u.Object, &Event{Time: u.Time, Actor: u.Actor, Kind: kind, Action: action, Object: k}, nil
	}
}

func del[T any](kind string, table func(*State) map[string]T) handler {
	return func(s *State, index uint64, body []byte) (any, *Event, error) {
		var d Delete
		if err := json.Unmarshal(body, &d); err != nil {
			return nil, nil, fmt.Errorf("decode %s delete at index %d: %w", kind, index, err)
		}
		t := table(s)
		if _, ok := t[d.Key]; !ok {
			return nil, nil, fmt.Errorf("%s %q: %w", kind, d.Key, ErrNotFound)
		}
		delete(t, d.Key)
		return nil, &Event{Time: d.Time, Actor: d.Actor, Kind: kind, Action: "delete", Object: d.Key}, nil
	}
}

func applyClusterInit(s *State, index uint64, body []byte) (any, *Event, error) {
	var u Upsert[ClusterInfo]
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, nil, fmt.Errorf("decode cluster init at index %d: %w", index, err)
	}
	if s.Info.ID != "" && s.Info.ID != u.Object.ID {
		return nil, nil, fmt.Errorf("cluster already initialised as %s: %w", s.Info.ID, ErrConflict)
	}
	s.Info = u.Object
	return u.Object, &Event{Time: u.Time, Actor: u.Actor, Kind: "cluster", Action: "init", Object: u.Object.ID}, nil
}

func checkCluster(s *State, c *Cluster) error {
	t, ok := s.Tenants[c.Tenant]
	if !ok {
		return fmt.Errorf("cluster %q: tenant %q: %w", c.Name, c.Tenant, ErrNotFound)
	}
	old, exists := s.Clusters[c.Key()]
	if !exists && s.clustersOf(c.Tenant) >= t.Quota.MaxClusters {
		return fmt.Errorf("cluster %q: tenant %q already has %d clusters (max_clusters %d): %w", c.Name, c.Tenant, s.clustersOf(c.Tenant), t.Quota.MaxClusters, ErrQuota)
	}
	// A cluster above a since-lowered quota may still shrink or be deleted.
	if c.Nodes > t.Quota.MaxNodesPerCluster && (!exists || c.Nodes > old.Nodes) {
		return fmt.Errorf("cluster %q: %d nodes exceeds max_nodes_per_cluster %d of tenant %q: %w", c.Name, c.Nodes, t.Quota.MaxNodesPerCluster, c.Tenant, ErrQuota)
	}
	return nil
}

func checkNode(s *State, n *Node) error {
	if _, ok := s.Clusters[n.Tenant+"/"+n.Cluster]; !ok {
		return fmt.Errorf("node %q: cluster %q of tenant %q: %w", n.Name, n.Cluster, n.Tenant, ErrNotFound)
	}
	return nil
}

func applyConsumeJoinToken(s *State, index uint64, body []byte) (any, *Event, error) {
	var c ConsumeJoinToken
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, nil, fmt.Errorf("decode join token use at index %d: %w", index, err)
	}
	for id, t := range s.JoinTokens {
		if t.Hash != c.Hash {
			continue
		}
		switch {
		case t.UsedBy != "" && t.UsedBy == c.By && c.RetryWindow > 0 && c.Time.Before(t.UsedAt.Add(c.RetryWindow)) && c.Time.Before(t.Expires):
			// The same joiner again, soon: a retry of a join whose answer it lost.
			return t, &Event{Time: c.Time, Actor: c.By, Kind: "join_token", Action: "retry", Object: id}, nil
		case t.UsedBy != "":
			return nil, nil, fmt.Errorf("join token %s was already used by %s at %s; issue a new one with `vela members token`: %w", id, t.UsedBy, t.UsedAt.UTC().Format("2006-01-02T15:04:05Z"), ErrTokenInvalid)
		case !c.Time.Before(t.Expires):
			return nil, nil, fmt.Errorf("join token %s expired at %s; issue a new one with `vela members token`: %w", id, t.Expires.UTC().Format("2006-01-02T15:04:05Z"), ErrTokenInvalid)
		}
		t.UsedBy, t.UsedAt = c.By, c.Time
		s.JoinTokens[id] = t
		return t, &Event{Time: c.Time, Actor: c.By, Kind: "join_token", Action: "use", Object: id}, nil
	}
	return nil, nil, fmt.Errorf("join token not known to this cluster (wrong cluster, or mistyped); issue one with `vela members token`: %w", ErrTokenInvalid)
}

// applyClusterStatus replaces the status of a cluster, unless its spec has
// changed since the status was computed (the controller then recomputes).
func applyClusterStatus(s *State, index uint64, body []byte) (any, *Event, error) {
	var c SetClusterStatus
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, nil, fmt.Errorf("decode cluster status at index %d: %w", index, err)
	}
	cl, ok := s.Clusters[c.Key]
	if !ok {
		return nil, nil, fmt.Errorf("cluster %q: %w", c.Key, ErrNotFound)
	}
	if cl.Generation != c.Generation {
		return nil, nil, fmt.Errorf("cluster %q: status computed for generation %d, spec is at %d: %w", c.Key, c.Generation, cl.Generation, ErrConflict)
	}
	if c.Status.SwarmInit != cl.SwarmInit && c.SwarmInitWas != cl.SwarmInit {
		return nil, nil, fmt.Errorf("cluster %q: status chose node %q to init the Swarm, but %q was recorded meanwhile: %w", c.Key, c.Status.SwarmInit, cl.SwarmInit, ErrConflict)
	}
	old := cl.State
	cl.State, cl.ClusterStatus, cl.ModifyIndex = c.State, c.Status, index
	s.Clusters[c.Key] = cl
	var ev *Event
	if old != c.State {
		ev = &Event{Time: c.Time, Actor: c.Actor, Kind: "cluster", Action: c.State, Object: c.Key}
	}
	return cl, ev, nil
}
