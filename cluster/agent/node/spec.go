package node

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
	"regexp"

	"github.com/vela-appliance/vela/images/idmap"
)

// Defaults of a node, from the product definition.
const (
	DefaultMemoryBytes = 4 << 30
	DefaultVCPUs       = 2
	DefaultDiskBytes   = 20_000_000_000
	// IDMapBase is the first host uid/gid of an unprivileged node's user
	// namespace; IDMapCount ids are mapped.
	IDMapBase  = idmap.Base
	IDMapCount = 65536
	// DockerPort is where the node's dockerd listens with TLS.
	DockerPort = 2376
)

// Spec is one node as the hypervisor must run it.
type Spec struct {
	Name        string       // domain name, unique on the host: a DNS label
	Tenant      string       // owner; nodes of different tenants never share a bridge
	MemoryBytes uint64       // hard memory limit, nested containers included
	VCPUs       int          // CPU quota in whole CPUs
	DiskBytes   uint64       // size of the node's disk
	Address     netip.Prefix // the node's IPv4 address with the tenant subnet's length
	Gateway     netip.Addr   // the tenant bridge's address on the hypervisor
	Bridge      string       // host bridge of the tenant network
	Privileged  bool         // no user namespace: only when the operator asks
}

var labelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Validate says what is wrong with a Spec, in terms an operator can act on.
func (s Spec) Validate() error {
	switch {
	case !labelRE.MatchString(s.Name):
		return fmt.Errorf("node %q: name must be a DNS label (a-z, 0-9, -)", s.Name)
	case s.Tenant == "":
		return fmt.Errorf("node %q: no tenant", s.Name)
	case s.MemoryBytes < 64<<20:
		return fmt.Errorf("node %q: memory %d bytes is below 64 MiB", s.Name, s.MemoryBytes)
	case s.VCPUs < 1:
		return fmt.Errorf("node %q: needs at least 1 vCPU", s.Name)
	case s.DiskBytes < 1<<30:
		return fmt.Errorf("node %q: disk %d bytes is below 1 GiB", s.Name, s.DiskBytes)
	case !s.Address.IsValid() || !s.Address.Addr().Is4():
		return fmt.Errorf("node %q: address %q is not an IPv4 prefix such as 10.20.0.5/24", s.Name, s.Address)
	case !s.Gateway.IsValid() || !s.Address.Contains(s.Gateway) || s.Gateway == s.Address.Addr():
		return fmt.Errorf("node %q: gateway %v must be another address in %v", s.Name, s.Gateway, s.Address.Masked())
	case s.Bridge == "" || len(s.Bridge) > 15:
		return fmt.Errorf("node %q: bridge name %q must be 1 to 15 characters", s.Name, s.Bridge)
	}
	return nil
}

// WithDefaults fills the product's sizes where s leaves them zero.
func (s Spec) WithDefaults() Spec {
	if s.MemoryBytes == 0 {
		s.MemoryBytes = DefaultMemoryBytes
	}
	if s.VCPUs == 0 {
		s.VCPUs = DefaultVCPUs
	}
	if s.DiskBytes == 0 {
		s.DiskBytes = DefaultDiskBytes
	}
	return s
}

// MAC is the node's stable, locally administered MAC address.
func (s Spec) MAC() string {
	h := sha256.Sum256([]byte(s.Name))
	return fmt.Sprintf("52:56:%02x:%02x:%02x:%02x", h[0], h[1], h[2], h[3])
}

// UUID is the node's stable libvirt domain UUID, derived from its name so
// that redefining the domain (after a reboot, by a restarted agent) keeps it.
func (s Spec) UUID() string {
	h := sha256.Sum256([]byte("vela-node/" + s.Name))
	h[6] = h[6]&0x0f | 0x50 // version 5 style (name-based)
	h[8] = h[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
