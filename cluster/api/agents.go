package api

import (
	"net/http"
	"net/netip"
	"slices"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
)

// Hypervisor agents: they register (capacity, versions, address), heartbeat
// (usage), read what they must run (nodes placed on them, with the dockerd
// TLS keys, and the routes to their tenants' subnets on other hypervisors)
// and report each node's state. An agent is known by its client
// certificate (OU agent, CN its hypervisor's name) and may touch only its
// own hypervisor and the nodes placed on it. Admins list, drain and
// undrain hypervisors and may place a node by hand.

// RegisterRequest is what an agent registers; its name is its
// certificate's.
type RegisterRequest struct {
	// Address is the IP members and other hypervisors reach it on.
	Address        string `json:"address"`
	CPUs           int    `json:"cpus"`
	MemoryBytes    int64  `json:"memory_bytes"`
	DiskBytes      int64  `json:"disk_bytes"`
	LibvirtVersion string `json:"libvirt_version,omitempty"`
	KernelVersion  string `json:"kernel_version,omitempty"`
	ImageVersion   string `json:"image_version,omitempty"`
}

// DesiredState is what one hypervisor must run.
type DesiredState struct {
	Hypervisor string `json:"hypervisor"`
	// Nodes placed on it, with their TLS keys; those with Desired
	// "deleted" are to be removed (and reported deleted).
	Nodes []fsm.Node `json:"nodes"`
	// Subnets are the tenant subnets on this hypervisor.
	Subnets []fsm.Subnet `json:"subnets"`
	// Routes are the subnets, on other hypervisors, of the tenants that
	// have nodes or a subnet here.
	Routes []Route `json:"routes"`
}

// Route says that a tenant's subnet is reached via another hypervisor.
type Route struct {
	Tenant     string `json:"tenant"`
	Prefix     string `json:"prefix"`
	Via        string `json:"via"`
	Hypervisor string `json:"hypervisor"`
}

// NodeStatusRequest is an agent's report of one node's state.
type NodeStatusRequest struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

var agentOnly = access{pki.RoleAgent}

func (s *Server) agentRoutes() []route {
	agentOrAdmin := access{fsm.ScopeAdmin, pki.RoleAgent}
	return []route{
		{"POST", "/v1/hypervisors/register", onLeader, agentOnly, "An agent registers its hypervisor (named by its certificate): address, capacity, versions. Keeps draining; else ready.", RegisterRequest{}, fsm.Hypervisor{}, s.registerHypervisor},
		{"POST", "/v1/hypervisors/heartbeat", onLeader, agentOnly, "An agent reports its hypervisor's usage (one Raft write per interval, 10 s by default).", fsm.HVUsage{}, nil, s.heartbeat},
		{"GET", "/v1/hypervisors/{name}/desired", consistent, agentOrAdmin, "The nodes placed on a hypervisor (with TLS keys) and the routes to its tenants' subnets elsewhere. Agents: their own only.", nil, DesiredState{}, s.desired},
		{"PUT", "/v1/nodes/{name}/status", onLeader, agentOnly, "The agent of the node's hypervisor reports its state: creating, running, failed (with a reason) or deleted.", NodeStatusRequest{}, fsm.Node{}, s.nodeStatus},
		{"GET", "/v1/hypervisors", consistent, adminOnly, "List hypervisors with derived state (unreachable after 3 missed heartbeats) and allocation.", nil, []HypervisorStatus{}, s.listHypervisors},
		{"GET", "/v1/hypervisors/{name}", consistent, adminOnly, "Get one hypervisor.", nil, HypervisorStatus{}, s.getHypervisor},
		{"PUT", "/v1/hypervisors/{name}", onLeader, adminOnly, "Create or replace a hypervisor record by hand (agents register instead).", fsm.Hypervisor{}, fsm.Hypervisor{}, s.putHypervisor},
		{"DELETE", "/v1/hypervisors/{name}", onLeader, adminOnly, "Forget a hypervisor (its agent registers again if it still runs).", nil, nil, s.deleteHypervisor},
		{"POST", "/v1/hypervisors/{name}/drain", onLeader, adminOnly, "Drain: no new nodes are placed on it; its nodes keep running.", nil, HypervisorStatus{}, s.drainOp(fsm.HVDrain)},
		{"POST", "/v1/hypervisors/{name}/undrain", onLeader, adminOnly, "Undrain: the hypervisor takes new nodes again.", nil, HypervisorStatus{}, s.drainOp(fsm.HVUndrain)},
		{"PUT", "/v1/nodes/{name}", onLeader, adminOnly, "Place a node by hand (the controller places tenants' nodes itself).", fsm.Node{}, fsm.Node{}, s.putNode},
	}
}

// agentName is the hypervisor name of an agent caller.
func agentName(r *http.Request) string { return principalFrom(r.Context()).Name }

func (s *Server) registerHypervisor(w http.ResponseWriter, r *http.Request) error {
	var req RegisterRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	name := agentName(r)
	if err := checkName("name", name); err != nil {
		return err
	}
	if ip, err := netip.ParseAddr(req.Address); err != nil || ip.IsUnspecified() {
		return errf(http.StatusBadRequest, "address", "%q is not an IP other hypervisors can reach (pass vela agent --address)", req.Address)
	}
	h := fsm.Hypervisor{Name: name, Address: req.Address, CPUs: req.CPUs, MemoryBytes: req.MemoryBytes, DiskBytes: req.DiskBytes,
		LibvirtVersion: req.LibvirtVersion, KernelVersion: req.KernelVersion, ImageVersion: req.ImageVersion}
	if err := checkHypervisor(&h); err != nil {
		return err
	}
	res, err := s.propose(r, fsm.TypeHypervisorReport, fsm.HypervisorReport{Meta: s.meta(r), Op: fsm.HVRegister, Object: h})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res.Value)
	return nil
}

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) error {
	var u fsm.HVUsage
	if err := decode(w, r, &u); err != nil {
		return err
	}
	if u.Nodes < 0 || u.MemoryBytes < 0 || u.VCPUs < 0 || u.DiskBytes < 0 {
		return errf(http.StatusBadRequest, "", "usage figures must not be negative")
	}
	name := agentName(r)
	if _, err := s.propose(r, fsm.TypeHypervisorReport, fsm.HypervisorReport{Meta: s.meta(r), Op: fsm.HVHeartbeat, Object: fsm.Hypervisor{Name: name, Usage: u}}); err != nil {
		if isStatus(err, http.StatusNotFound) {
			return errf(http.StatusNotFound, "", "hypervisor %q is not registered; the agent must POST /v1/hypervisors/register first", name)
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) desired(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if p := principalFrom(r.Context()); p.Kind == pki.RoleAgent && p.Name != name {
		return errf(http.StatusForbidden, "name", "%s may read only the desired state of its own hypervisor %q, not %q", p, p.Name, name)
	}
	out := DesiredState{Hypervisor: name, Nodes: []fsm.Node{}, Subnets: []fsm.Subnet{}, Routes: []Route{}}
	s.view(func(st *fsm.State) { desiredOf(st, name, &out) })
	writeJSON(w, http.StatusOK, out)
	return nil
}

// desiredOf collects what hypervisor name must run.
func desiredOf(st *fsm.State, name string, out *DesiredState) {
	tenants := map[string]bool{}
	for _, n := range fsm.Sorted(st.Nodes) {
		if n.Hypervisor == name {
			out.Nodes = append(out.Nodes, n)
			tenants[n.Tenant] = true
		}
	}
	for _, sn := range fsm.Sorted(st.Subnets) {
		if sn.Hypervisor == name {
			out.Subnets = append(out.Subnets, sn)
			tenants[sn.Tenant] = true
		}
	}
	for _, sn := range fsm.Sorted(st.Subnets) {
		h, ok := st.Hypervisors[sn.Hypervisor]
		if sn.Hypervisor == name || !tenants[sn.Tenant] || !ok || h.Address == "" {
			continue
		}
		out.Routes = append(out.Routes, Route{Tenant: sn.Tenant, Prefix: sn.Prefix, Via: h.Address, Hypervisor: sn.Hypervisor})
	}
}

var nodeStates = []string{fsm.NodeCreating, fsm.NodeRunning, fsm.NodeFailed, fsm.NodeDeleted}

func (s *Server) nodeStatus(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var req NodeStatusRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if !slices.Contains(nodeStates, req.State) {
		return errf(http.StatusBadRequest, "state", "%q; want one of creating, running, failed, deleted", req.State)
	}
	if err := checkLen("reason", req.Reason, 2048); err != nil {
		return err
	}
	p := principalFrom(r.Context())
	var (
		n  fsm.Node
		ok bool
	)
	s.view(func(st *fsm.State) { n, ok = st.Nodes[name] })
	if !ok {
		return errf(http.StatusNotFound, "name", "node %q not found (deleted meanwhile?)", name)
	}
	if n.Hypervisor != p.Name {
		return errf(http.StatusForbidden, "name", "%s may report only nodes placed on its own hypervisor; node %q is on %q", p, name, n.Hypervisor)
	}
	// Apply checks the placement again: a node moved meanwhile is refused.
	res, err := s.propose(r, fsm.TypeNodeStatus, fsm.SetNodeStatus{Meta: s.meta(r), Name: name, Hypervisor: p.Name, State: req.State, Reason: req.Reason})
	if err != nil {
		return err
	}
	out := res.Value.(fsm.Node)
	out.TLS = withoutKey(out.TLS)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// withoutKeys copies a node table with the TLS keys cleared (objects of the
// state are never changed in place).
func withoutKeys(m map[string]fsm.Node) map[string]fsm.Node {
	out := make(map[string]fsm.Node, len(m))
	for k, n := range m {
		n.TLS = withoutKey(n.TLS)
		out[k] = n
	}
	return out
}

func withoutKey(t *fsm.NodeTLS) *fsm.NodeTLS {
	if t == nil {
		return nil
	}
	c := *t
	c.Key = ""
	return &c
}
