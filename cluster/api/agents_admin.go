package api

import (
	"crypto/tls"
	"net/http"
	"net/netip"
	"time"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
)

// Node sizes a hand-placed node gets when its record leaves them zero (the
// product's node: 4 GiB, 2 vCPU, 20 GB).
const (
	DefaultNodeMemoryBytes = 4 << 30
	DefaultNodeVCPUs       = 2
	DefaultNodeDiskBytes   = 20_000_000_000
)

// HypervisorStatus is a hypervisor as admins see it: the record, with
// State "unreachable" when no heartbeat came for fsm.UnreachableAfter
// heartbeat intervals (Draining keeps the admin's setting), and what the
// nodes placed on it (not being deleted) reserve.
type HypervisorStatus struct {
	fsm.Hypervisor
	Draining    bool       `json:"draining"`
	Unreachable bool       `json:"unreachable"`
	Allocated   Allocation `json:"allocated"`
}

// Allocation sums the sizes of nodes placed on a hypervisor.
type Allocation struct {
	Nodes       int   `json:"nodes"`
	MemoryBytes int64 `json:"memory_bytes"`
	VCPUs       int   `json:"vcpus"`
	DiskBytes   int64 `json:"disk_bytes"`
}

func (s *Server) statusOf(st *fsm.State, h fsm.Hypervisor, now time.Time) HypervisorStatus {
	out := HypervisorStatus{Hypervisor: h, Draining: h.State == fsm.HypervisorDraining}
	if h.Unreachable(now, s.cfg.HeartbeatInterval) {
		out.Unreachable, out.State = true, "unreachable"
	}
	for _, n := range st.Nodes {
		if n.Hypervisor != h.Name || n.Desired == fsm.NodeDesiredDeleted {
			continue
		}
		out.Allocated.Nodes++
		out.Allocated.MemoryBytes += n.MemoryBytes
		out.Allocated.VCPUs += n.VCPUs
		out.Allocated.DiskBytes += n.DiskBytes
	}
	return out
}

func (s *Server) listHypervisors(w http.ResponseWriter, _ *http.Request) error {
	now := s.cfg.Now()
	out := []HypervisorStatus{}
	s.view(func(st *fsm.State) {
		for _, h := range fsm.Sorted(st.Hypervisors) {
			out = append(out, s.statusOf(st, h, now))
		}
	})
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getHypervisor(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var (
		out HypervisorStatus
		ok  bool
	)
	now := s.cfg.Now()
	s.view(func(st *fsm.State) {
		var h fsm.Hypervisor
		if h, ok = st.Hypervisors[name]; ok {
			out = s.statusOf(st, h, now)
		}
	})
	if !ok {
		return errf(http.StatusNotFound, "name", "hypervisor %q not found; see `vela hypervisors ls`", name)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func checkHypervisor(h *fsm.Hypervisor) error {
	switch {
	case h.CPUs < 0:
		return errf(http.StatusBadRequest, "cpus", "must not be negative")
	case h.MemoryBytes < 0:
		return errf(http.StatusBadRequest, "memory_bytes", "must not be negative")
	case h.DiskBytes < 0:
		return errf(http.StatusBadRequest, "disk_bytes", "must not be negative")
	}
	for field, v := range map[string]string{"address": h.Address, "state": h.State, "libvirt_version": h.LibvirtVersion, "kernel_version": h.KernelVersion, "image_version": h.ImageVersion} {
		if err := checkLen(field, v, 64); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) putHypervisor(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := checkName("name", name); err != nil {
		return err
	}
	var h fsm.Hypervisor
	if err := decode(w, r, &h); err != nil {
		return err
	}
	h.Name, h.ModifyIndex = name, 0
	if err := checkHypervisor(&h); err != nil {
		return err
	}
	if h.State != "" && h.State != fsm.HypervisorReady && h.State != fsm.HypervisorDraining {
		return errf(http.StatusBadRequest, "state", "%q; want ready or draining", h.State)
	}
	res, err := s.propose(r, fsm.TypeHypervisorUpsert, fsm.Upsert[fsm.Hypervisor]{Meta: s.meta(r), Object: h})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res.Value)
	return nil
}

func (s *Server) deleteHypervisor(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.propose(r, fsm.TypeHypervisorDelete, fsm.Delete{Meta: s.meta(r), Key: r.PathValue("name")}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) drainOp(op string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		name := r.PathValue("name")
		res, err := s.propose(r, fsm.TypeHypervisorReport, fsm.HypervisorReport{Meta: s.meta(r), Op: op, Object: fsm.Hypervisor{Name: name}})
		if err != nil {
			if isStatus(err, http.StatusNotFound) {
				return errf(http.StatusNotFound, "name", "hypervisor %q not found; see `vela hypervisors ls`", name)
			}
			return err
		}
		var out HypervisorStatus
		s.view(func(st *fsm.State) { out = s.statusOf(st, res.Value.(fsm.Hypervisor), s.cfg.Now()) })
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

// putNode places a node by hand. The agent's report (State, Reason) and the
// creation time of an existing record are kept. Without a subnet of the
// tenant on that hypervisor, the node's (masked) prefix becomes it, so the
// controller's address plan and the other hypervisors' routes know it; it
// must not overlap any other subnet.
func (s *Server) putNode(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := checkName("name", name); err != nil {
		return err
	}
	var n fsm.Node
	if err := decode(w, r, &n); err != nil {
		return err
	}
	n.Name, n.ModifyIndex = name, 0
	if err := checkNode(&n); err != nil {
		return err
	}
	m := s.meta(r)
	var (
		err       error
		newSubnet *fsm.Subnet
	)
	s.view(func(st *fsm.State) {
		if _, ok := st.Hypervisors[n.Hypervisor]; !ok {
			err = errf(http.StatusNotFound, "hypervisor", "hypervisor %q not found; see `vela hypervisors ls`", n.Hypervisor)
			return
		}
		pfx := netip.MustParsePrefix(n.Address)
		ip := pfx.Addr()
		if sn, ok := st.Subnets[n.Tenant+"/"+n.Hypervisor]; ok {
			if p, perr := netip.ParsePrefix(sn.Prefix); perr == nil && !p.Contains(ip) {
				err = errf(http.StatusBadRequest, "address", "%s is outside tenant %q's subnet %s on hypervisor %q", ip, n.Tenant, sn.Prefix, n.Hypervisor)
				return
			}
		} else {
			newSubnet = &fsm.Subnet{Tenant: n.Tenant, Hypervisor: n.Hypervisor, Prefix: pfx.Masked().String()}
			for _, o := range st.Subnets {
				if p, perr := netip.ParsePrefix(o.Prefix); perr == nil && p.Overlaps(pfx.Masked()) {
					err = errf(http.StatusConflict, "address", "subnet %s overlaps tenant %q's subnet %s on hypervisor %q", pfx.Masked(), o.Tenant, o.Prefix, o.Hypervisor)
					return
				}
			}
		}
		for _, o := range st.Nodes {
			if p, perr := netip.ParsePrefix(o.Address); perr == nil && o.Name != name && p.Addr() == ip {
				err = errf(http.StatusConflict, "address", "%s is already node %q's address", ip, o.Name)
				return
			}
		}
		n.State, n.Reason, n.Created = "", "", m.Time
		if old, ok := st.Nodes[name]; ok {
			n.State, n.Reason, n.Created = old.State, old.Reason, old.Created
		}
	})
	if err != nil {
		return err
	}
	res, err := s.propose(r, fsm.TypeNodeUpsert, fsm.Upsert[fsm.Node]{Meta: m, Object: n})
	if err != nil {
		return err
	}
	// The node first: a subnet no node uses may be released by the
	// controller at any time.
	if newSubnet != nil {
		if _, err := s.propose(r, fsm.TypeSubnetUpsert, fsm.Upsert[fsm.Subnet]{Meta: m, Object: *newSubnet}); err != nil {
			return err
		}
	}
	out := res.Value.(fsm.Node)
	out.TLS = withoutKey(out.TLS)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// checkNode validates a node record's desired fields and fills defaults.
func checkNode(n *fsm.Node) error {
	for field, v := range map[string]string{"tenant": n.Tenant, "cluster": n.Cluster, "hypervisor": n.Hypervisor} {
		if err := checkName(field, v); err != nil {
			return err
		}
	}
	addr, err := netip.ParsePrefix(n.Address)
	if err != nil || !addr.Addr().Is4() || addr.Bits() < 8 || addr.Bits() > 30 {
		return errf(http.StatusBadRequest, "address", "%q is not an IPv4 address with its subnet length /8 to /30, such as 10.200.3.10/24", n.Address)
	}
	if addr.Addr() == addr.Masked().Addr() {
		return errf(http.StatusBadRequest, "address", "%s is the subnet's network address", addr.Addr())
	}
	if n.Gateway == "" {
		n.Gateway = addr.Masked().Addr().Next().String()
	}
	gw, err := netip.ParseAddr(n.Gateway)
	if err != nil || !addr.Contains(gw) || gw == addr.Addr() || gw == addr.Masked().Addr() {
		return errf(http.StatusBadRequest, "gateway", "%q must be another host address in %s", n.Gateway, addr.Masked())
	}
	switch {
	case n.MemoryBytes < 0 || (n.MemoryBytes > 0 && n.MemoryBytes < 64<<20):
		return errf(http.StatusBadRequest, "memory_bytes", "want 0 (4 GiB) or at least 64 MiB, got %d", n.MemoryBytes)
	case n.VCPUs < 0 || n.VCPUs > 256:
		return errf(http.StatusBadRequest, "vcpus", "want 0 (2) to 256, got %d", n.VCPUs)
	case n.DiskBytes < 0 || (n.DiskBytes > 0 && n.DiskBytes < 1<<30):
		return errf(http.StatusBadRequest, "disk_bytes", "want 0 (20 GB) or at least 1 GiB, got %d", n.DiskBytes)
	case n.Role != "" && n.Role != "manager" && n.Role != "worker":
		return errf(http.StatusBadRequest, "role", "%q; want manager or worker", n.Role)
	case n.Desired != "" && n.Desired != fsm.NodeDesiredRunning && n.Desired != fsm.NodeDesiredDeleted:
		return errf(http.StatusBadRequest, "desired", "%q; want running or deleted", n.Desired)
	case n.TLS == nil:
		return errf(http.StatusBadRequest, "tls", "required: the node dockerd's ca_cert, cert and key (PEM)")
	}
	if n.MemoryBytes == 0 {
		n.MemoryBytes = DefaultNodeMemoryBytes
	}
	if n.VCPUs == 0 {
		n.VCPUs = DefaultNodeVCPUs
	}
	if n.DiskBytes == 0 {
		n.DiskBytes = DefaultNodeDiskBytes
	}
	if n.Desired == "" {
		n.Desired = fsm.NodeDesiredRunning
	}
	if _, err := pki.Pool([]byte(n.TLS.CACert)); err != nil {
		return errf(http.StatusBadRequest, "tls.ca_cert", "not a PEM certificate: %v", err)
	}
	if _, err := tls.X509KeyPair([]byte(n.TLS.Cert), []byte(n.TLS.Key)); err != nil {
		return errf(http.StatusBadRequest, "tls.cert", "cert and key are not a matching PEM pair: %v", err)
	}
	return nil
}
