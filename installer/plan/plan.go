package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vela-appliance/vela/installer/config"
)

// Kind names what a step does; an executor is registered per kind.
type Kind string

// Step kinds, in the order a plan uses them.
const (
	LabNetwork    Kind = "lab-network"    // lab: create the private boot bridge
	Images        Kind = "images"         // build or reuse the OS artifacts
	Secrets       Kind = "secrets"        // cluster CA, admin token, join tokens
	Ignition      Kind = "ignition"       // render one machine's Ignition config
	BootServices  Kind = "boot-services"  // DHCP/TFTP/HTTP on the boot network
	LabVMs        Kind = "lab-vms"        // lab: power on the VMs
	MachineBoot   Kind = "machine-boot"   // wait until one machine booted and reported
	Bootstrap     Kind = "bootstrap"      // the first member forms the control plane
	Join          Kind = "join"           // one more member joins as a voter
	Hypervisor    Kind = "hypervisor"     // one hypervisor agent registered
	Handover      Kind = "handover"       // members take over boot services and inventory
	Tenant        Kind = "tenant"         // the first tenant and its credentials
	TenantCluster Kind = "tenant-cluster" // the first tenant's first cluster
	Health        Kind = "health"         // the whole appliance answers
)

// Step is one unit of work. Every step is idempotent: running it again after
// it (or part of it) ran has the effect of running it once.
type Step struct {
	ID      string `json:"id"` // unique and stable across runs, e.g. "ignition/node1"
	Kind    Kind   `json:"kind"`
	Machine string `json:"machine,omitempty"`
	Title   string `json:"title"`
	// Service steps start something that lives only as long as the install
	// process (the boot services): a resumed run starts them again.
	Service bool `json:"service,omitempty"`
}

// Plan is the ordered steps for one config.
type Plan struct {
	Name  string `json:"name"`
	Hash  string `json:"hash"` // of the config the plan was made from
	Steps []Step `json:"steps"`
}

// Kinds returns the distinct kinds the plan needs, in first-use order.
func (p Plan) Kinds() []Kind {
	seen := map[Kind]bool{}
	var out []Kind
	for _, s := range p.Steps {
		if !seen[s.Kind] {
			seen[s.Kind] = true
			out = append(out, s.Kind)
		}
	}
	return out
}

// Make returns the plan for a defaulted, validated config.
func Make(c *config.Config) Plan {
	var b builder
	if c.Lab != nil {
		b.add(LabNetwork, "", fmt.Sprintf("create lab bridge %s with %s", c.Lab.Bridge, c.Network.Address))
	}
	b.add(Images, "", imagesTitle(c.OS))
	b.add(Secrets, "", "generate the cluster CA, the admin token and one join token per machine")
	for _, m := range c.Machines {
		b.add(Ignition, m.Name, fmt.Sprintf("render the Ignition config of %s (%s)", m.Name, m.Role))
	}
	b.addService(BootServices, "", bootTitle(c))
	if c.Lab != nil {
		b.add(LabVMs, "", fmt.Sprintf("power on %d lab VMs (%s, %d vCPU each, accel %s, %s firmware)",
			len(c.Machines), c.Lab.Memory, c.Lab.CPUs, c.Lab.Accel, c.Lab.Firmware))
	}
	for _, m := range c.Machines {
		b.add(MachineBoot, m.Name, fmt.Sprintf("wait for %s (%s) to network-boot, apply its config and report", m.Name, machineID(m)))
	}
	members := c.Members()
	if len(members) > 0 {
		first := members[0]
		b.add(Bootstrap, first.Name, fmt.Sprintf("bootstrap the control plane on %s", first.Name))
		for _, m := range members[1:] {
			b.add(Join, m.Name, fmt.Sprintf("join %s to the control plane as a voter", m.Name))
		}
	}
	for _, m := range c.Hypervisors() {
		b.add(Hypervisor, m.Name, fmt.Sprintf("wait for the agent on %s to register its capacity", m.Name))
	}
	b.add(Handover, "", "hand the machine inventory and boot services over to the members")
	if c.Tenant.Name != "" {
		b.add(Tenant, "", fmt.Sprintf("create tenant %q and write its credentials", c.Tenant.Name))
		if tc := c.Tenant.Cluster; tc != nil {
			b.add(TenantCluster, "", fmt.Sprintf("create cluster %q of %d node(s) for %q and wait until it is active", tc.Name, tc.Nodes, c.Tenant.Name))
		}
	}
	b.add(Health, "", "check that every member, hypervisor and cluster answers")
	return Plan{Name: c.Name, Hash: Hash(c), Steps: b.steps}
}

type builder struct{ steps []Step }

func (b *builder) add(k Kind, machine, title string) {
	b.steps = append(b.steps, newStep(k, machine, title, false))
}

func (b *builder) addService(k Kind, machine, title string) {
	b.steps = append(b.steps, newStep(k, machine, title, true))
}

func newStep(k Kind, machine, title string, service bool) Step {
	id := string(k)
	if machine != "" {
		id += "/" + machine
	}
	return Step{ID: id, Kind: k, Machine: machine, Title: title, Service: service}
}

func imagesTitle(o config.OS) string {
	switch o.Image {
	case config.ImageCustom:
		return fmt.Sprintf("check the custom kernel %s and initramfs %s", o.Kernel, o.Initramfs)
	case config.ImageFCOS:
		return "verify the Fedora CoreOS kernel, initramfs and rootfs"
	default:
		return "build vela-os (kernel, initramfs, rootfs), or reuse the cached build"
	}
}

func bootTitle(c *config.Config) string {
	n := c.Network
	dhcp := "no DHCP"
	switch n.DHCP.Mode {
	case config.DHCPFull:
		dhcp = "DHCP (pool " + n.DHCP.Pool + ")"
	case config.DHCPProxy:
		dhcp = "proxyDHCP"
	}
	return fmt.Sprintf("serve %s, TFTP and HTTP on %s (%s)", dhcp, n.Interface, n.Address)
}

func machineID(m config.Machine) string {
	switch {
	case m.MAC != "" && m.UUID != "":
		return m.MAC + ", " + m.UUID
	case m.MAC != "":
		return m.MAC
	default:
		return m.UUID
	}
}

// Hash identifies a config: the canonical JSON of its defaulted form.
func Hash(c *config.Config) string {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // a Config always marshals
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Until returns the plan cut after the last step of the given kind or ID
// (a staged install: `vela install --until machine-boot`). The hash stays
// Count returns how many steps of kind the plan has.
func (p Plan) Count(kind Kind) int {
	n := 0
	for _, s := range p.Steps {
		if s.Kind == kind {
			n++
		}
	}
	return n
}

// the config's, so a later full run resumes from where the staged one ended.
func (p Plan) Until(stop string) (Plan, error) {
	last := -1
	for i, s := range p.Steps {
		if s.ID == stop || string(s.Kind) == stop {
			last = i
		}
	}
	if last < 0 {
		var kinds []string
		for _, k := range p.Kinds() {
			kinds = append(kinds, string(k))
		}
		return Plan{}, fmt.Errorf("--until %q: no such step in the plan; use a step ID or one of: %s", stop, strings.Join(kinds, ", "))
	}
	p.Steps = p.Steps[:last+1]
	return p, nil
}
