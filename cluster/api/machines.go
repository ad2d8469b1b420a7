package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
	"github.com/vela-appliance/vela/installer/config"
)

// Machine routes: the replicated inventory day-2 network boot serves from
// (pxe/cpinventory), the machines seen on the boot network but not in it,
// and the install config stored at handover. A machine's boot token is a
// secret of the boot server: no answer carries it.
func (s *Server) machineRoutes() []route {
	return []route{
		{"GET", "/v1/machines", consistent, adminOnly, "List machines (the replicated boot inventory).", nil, []fsm.Machine{}, s.listMachines},
		{"GET", "/v1/machines/{name}", consistent, adminOnly, "Get one machine.", nil, fsm.Machine{}, s.getMachine},
		{"PUT", "/v1/machines/{name}", onLeader, adminOnly, "Create or replace a machine; a known machine network-boots from the members.", fsm.Machine{}, fsm.Machine{}, s.putMachine},
		{"DELETE", "/v1/machines/{name}", onLeader, adminOnly, "Delete a machine (it is no longer booted).", nil, nil, s.deleteMachine},
		{"POST", "/v1/machines/admit", onLeader, adminOnly, "Admit a machine by MAC (discovery.mode: admit): its next network boot installs it.", AdmitRequest{}, fsm.Machine{}, s.admitMachine},
		{"GET", "/v1/machines/discovered", consistent, adminOnly, "List machines that network-booted but are in no machine record.", nil, []fsm.DiscoveredMachine{}, s.listDiscovered},
		{"POST", "/v1/machines/discovered", onLeader, membersOr, "Record a machine seen on the boot network (boot servers call it).", fsm.DiscoveredMachine{}, fsm.DiscoveredMachine{}, s.recordDiscovered},
		{"DELETE", "/v1/machines/discovered/{mac}", onLeader, adminOnly, "Forget a discovered machine.", nil, nil, s.forgetDiscovered},
		{"PUT", "/v1/install-config", onLeader, adminOnly, "Store the install config (validated, secrets-free YAML); records its machines.", InstallConfigRequest{}, fsm.InstallConfig{}, s.putInstallConfig},
		{"GET", "/v1/install-config", consistent, adminOnly, "Get the stored install config.", nil, fsm.InstallConfig{}, s.getInstallConfig},
	}
}

// reservedMachineNames are path segments under /v1/machines.
var reservedMachineNames = map[string]bool{"admit": true, "discovered": true}

func publicMachine(m fsm.Machine) fsm.Machine {
	m.BootToken = ""
	return m
}

func (s *Server) listMachines(w http.ResponseWriter, _ *http.Request) error {
	var out []fsm.Machine
	s.view(func(st *fsm.State) { out = fsm.Sorted(st.Machines) })
	for i := range out {
		out[i] = publicMachine(out[i])
	}
	if out == nil {
		out = []fsm.Machine{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getMachine(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var (
		m  fsm.Machine
		ok bool
	)
	s.view(func(st *fsm.State) { m, ok = st.Machines[name] })
	if !ok {
		return errf(http.StatusNotFound, "", "machine %q not found; `vela machines ls` lists them", name)
	}
	writeJSON(w, http.StatusOK, publicMachine(m))
	return nil
}

// newBootToken is a machine's boot token: 192 random bits in hex.
func newBootToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// checkMachine validates and normalises a machine record (MAC in
// lowercase colon form, UUID lowercase).
func checkMachine(m *fsm.Machine) error {
	if err := checkName("name", m.Name); err != nil {
		return err
	}
	if reservedMachineNames[m.Name] {
		return errf(http.StatusBadRequest, "name", "%q is reserved; pick another name", m.Name)
	}
	if m.MAC != "" {
		hw, err := net.ParseMAC(strings.ReplaceAll(m.MAC, "-", ":"))
		if err != nil || len(hw) != 6 {
			return errf(http.StatusBadRequest, "mac", "%q is not a MAC; write it like 52:54:00:12:34:56", m.MAC)
		}
		m.MAC = hw.String()
	}
	m.UUID = strings.ToLower(m.UUID)
	switch m.Role {
	case "", config.RoleMember, config.RoleHypervisor, config.RoleBoth:
	default:
		return errf(http.StatusBadRequest, "role", "%q: want member, hypervisor or both", m.Role)
	}
	if m.Address != "" && m.Address != config.AddressDHCP {
		if a, err := netip.ParseAddr(m.Address); err != nil || !a.Is4() {
			return errf(http.StatusBadRequest, "address", "%q: want an IPv4 address or dhcp", m.Address)
		}
	}
	if m.Disk != "" && !strings.HasPrefix(m.Disk, "/dev/") {
		return errf(http.StatusBadRequest, "disk", "%q is not a device path; use /dev/sda or /dev/disk/by-id/..., or leave it out to run live", m.Disk)
	}
	for field, v := range map[string]string{"uuid": m.UUID, "address": m.Address, "state": m.State, "disk": m.Disk} {
		if err := checkLen(field, v, 128); err != nil {
			return err
		}
	}
	return checkLabels("labels", m.Labels)
}

// macTaken names another machine that has m's MAC or UUID ("" if none).
func macTaken(st *fsm.State, m fsm.Machine) string {
	for _, o := range st.Machines {
		if o.Name != m.Name && ((m.MAC != "" && o.MAC == m.MAC) || (m.UUID != "" && o.UUID == m.UUID)) {
			return o.Name
		}
	}
	return ""
}

func (s *Server) putMachine(w http.ResponseWriter, r *http.Request) error {
	var m fsm.Machine
	if err := decode(w, r, &m); err != nil {
		return err
	}
	m.Name, m.ModifyIndex, m.BootToken = r.PathValue("name"), 0, ""
	if err := checkMachine(&m); err != nil {
		return err
	}
	return s.commitMachine(w, r, m)
}

// commitMachine keeps the boot token of an existing record with the same
// MAC and UUID (a new one otherwise) and proposes the record.
func (s *Server) commitMachine(w http.ResponseWriter, r *http.Request, m fsm.Machine) error {
	var other string
	s.view(func(st *fsm.State) {
		other = macTaken(st, m)
		if old, ok := st.Machines[m.Name]; ok && old.MAC == m.MAC && old.UUID == m.UUID {
			m.BootToken = old.BootToken
		}
	})
	if other != "" {
		return errf(http.StatusConflict, "mac", "machine %q already has this MAC or UUID; delete it first (`vela machines rm %s`)", other, other)
	}
	if m.BootToken == "" {
		m.BootToken = newBootToken()
	}
	res, err := s.propose(r, fsm.TypeMachineUpsert, fsm.Upsert[fsm.Machine]{Meta: s.meta(r), Object: m})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, publicMachine(res.Value.(fsm.Machine)))
	return nil
}

func (s *Server) deleteMachine(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.propose(r, fsm.TypeMachineDelete, fsm.Delete{Meta: s.meta(r), Key: r.PathValue("name")}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// AdmitRequest admits a machine seen (or about to be seen) on the boot
// network. MAC is required; Role defaults to the config's discovery.role.
type AdmitRequest struct {
	Name    string `json:"name"`
	MAC     string `json:"mac"`
	Role    string `json:"role,omitempty"`
	Address string `json:"address,omitempty"`
	Disk    string `json:"disk,omitempty"`
}

func (s *Server) admitMachine(w http.ResponseWriter, r *http.Request) error {
	var req AdmitRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.MAC == "" {
		return errf(http.StatusBadRequest, "mac", "missing; `vela machines ls` shows the MACs of discovered machines")
	}
	c, err := s.storedConfig()
	if err != nil {
		return err
	}
	if c.Discovery.Mode != config.DiscoveryAdmit {
		return errf(http.StatusConflict, "", "the install config has discovery.mode %s: unknown machines are not admitted; set discovery.mode: admit and store the config again, or add the machine by hand with PUT /v1/machines/%s", c.Discovery.Mode, req.Name)
	}
	if req.Role == "" {
		req.Role = c.Discovery.Role
	}
	if req.Role != config.RoleHypervisor {
		return errf(http.StatusBadRequest, "role", "%q: admitted machines are hypervisors (members are listed in the install config)", req.Role)
	}
	m := fsm.Machine{Name: req.Name, MAC: req.MAC, Role: req.Role, Address: req.Address, Disk: req.Disk, State: fsm.MachineAdmitted}
	if err := checkMachine(&m); err != nil {
		return err
	}
	if err := checkBootAddress(c, m.Address); err != nil {
		return err
	}
	var exists bool
	s.view(func(st *fsm.State) {
		_, exists = st.Machines[m.Name]
		if d, ok := st.Discovered[m.MAC]; ok {
			m.UUID = d.UUID
		}
	})
	if exists {
		return errf(http.StatusConflict, "name", "machine %q exists; pick another name or delete it first", m.Name)
	}
	return s.commitMachine(w, r, m)
}

// checkBootAddress: a static address must be in the boot subnet and, in
// full DHCP mode, outside the pool.
func checkBootAddress(c *config.Config, address string) error {
	a, err := netip.ParseAddr(address)
	if err != nil {
		return nil // none, or dhcp (checkMachine refused anything else)
	}
	p, err := netip.ParsePrefix(c.Network.Address)
	if err != nil || !p.Masked().Contains(a) {
		return errf(http.StatusBadRequest, "address", "%s is not in the boot network %s", a, p.Masked())
	}
	if r, err := config.ParseRange(c.Network.DHCP.Pool); err == nil && c.Network.DHCP.Mode == config.DHCPFull && r.Contains(a) {
		return errf(http.StatusBadRequest, "address", "%s is inside the DHCP pool %s; pick an address outside it", a, c.Network.DHCP.Pool)
	}
	return nil
}

func (s *Server) listDiscovered(w http.ResponseWriter, _ *http.Request) error {
	var out []fsm.DiscoveredMachine
	s.view(func(st *fsm.State) { out = fsm.Sorted(st.Discovered) })
	if out == nil {
		out = []fsm.DiscoveredMachine{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) recordDiscovered(w http.ResponseWriter, r *http.Request) error {
	var d fsm.DiscoveredMachine
	if err := decode(w, r, &d); err != nil {
		return err
	}
	hw, err := net.ParseMAC(strings.ReplaceAll(d.MAC, "-", ":"))
	if err != nil || len(hw) != 6 {
		return errf(http.StatusBadRequest, "mac", "%q is not a MAC", d.MAC)
	}
	d.MAC, d.UUID = hw.String(), strings.ToLower(d.UUID)
	for field, v := range map[string]string{"uuid": d.UUID, "arch": d.Arch, "ip": d.IP, "by": d.By} {
		if err := checkLen(field, v, 64); err != nil {
			return err
		}
	}
	m := s.meta(r)
	d.LastSeen = m.Time
	d.FirstSeen = m.Time
	if p := principalFrom(r.Context()); p.Kind == pki.RoleMember {
		d.By = p.Name
	}
	res, err := s.propose(r, fsm.TypeMachineDiscovered, fsm.Upsert[fsm.DiscoveredMachine]{Meta: m, Object: d})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res.Value)
	return nil
}

func (s *Server) forgetDiscovered(w http.ResponseWriter, r *http.Request) error {
	mac := strings.ToLower(strings.ReplaceAll(r.PathValue("mac"), "-", ":"))
	if _, err := s.propose(r, fsm.TypeDiscoveredDelete, fsm.Delete{Meta: s.meta(r), Key: mac}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// InstallConfigRequest stores an install config.
type InstallConfigRequest struct {
	// YAML is the install config file's text, snippets inlined
	// (cpinventory.PortableConfig makes it from a loaded config).
	YAML string `json:"yaml"`
}

func (s *Server) putInstallConfig(w http.ResponseWriter, r *http.Request) error {
	var req InstallConfigRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c, err := parseInstallConfig(req.YAML)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(req.YAML))
	body := fsm.PutInstallConfig{Meta: s.meta(r), Config: fsm.InstallConfig{YAML: req.YAML, SHA256: hex.EncodeToString(sum[:])}}
	for _, cm := range c.Machines {
		m := fsm.Machine{Name: cm.Name, MAC: config.NormalizeMAC(cm.MAC), UUID: strings.ToLower(cm.UUID), Role: cm.Role,
			Address: cm.Address, Disk: cm.Disk, State: fsm.MachineReported, BootToken: newBootToken()}
		if m.Disk != "" {
			m.State = fsm.MachineInstalled
		}
		body.Machines = append(body.Machines, m)
	}
	res, err := s.propose(r, fsm.TypeInstallConfigPut, body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res.Value)
	return nil
}

func (s *Server) getInstallConfig(w http.ResponseWriter, _ *http.Request) error {
	var c *fsm.InstallConfig
	s.view(func(st *fsm.State) { c = st.InstallConfig })
	if c == nil {
		return errf(http.StatusNotFound, "", "no install config stored: the installer stores it at handover (or PUT /v1/install-config)")
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// storedConfig parses the stored install config.
func (s *Server) storedConfig() (*config.Config, error) {
	var c *fsm.InstallConfig
	s.view(func(st *fsm.State) { c = st.InstallConfig })
	if c == nil {
		return nil, errf(http.StatusConflict, "", "no install config stored: the installer stores it at handover (or PUT /v1/install-config)")
	}
	return parseInstallConfig(c.YAML)
}

// parseInstallConfig checks an install config for storing: valid, with
// every snippet inline (no file beside it on a member) and no private key.
func parseInstallConfig(yaml string) (*config.Config, error) {
	if strings.TrimSpace(yaml) == "" {
		return nil, errf(http.StatusBadRequest, "yaml", "empty; send the install config's text")
	}
	if strings.Contains(yaml, "PRIVATE KEY") {
		return nil, errf(http.StatusBadRequest, "yaml", "holds a private key; the stored install config must be secrets-free")
	}
	c, _, diags := config.Parse("install-config", []byte(yaml))
	if c == nil || diags.HasErrors() {
		return nil, errf(http.StatusBadRequest, "yaml", "the install config does not validate: %v", diags.Errors())
	}
	for i, sn := range c.Butane {
		if sn.Path != "" {
			return nil, errf(http.StatusBadRequest, "yaml", "butane[%d] (%s) is a path; members have no files beside the config: inline it (cpinventory.PortableConfig does)", i, sn.Name)
		}
	}
	return c, nil
}
