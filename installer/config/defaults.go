package config

import (
	"fmt"
	"net/netip"
	"time"
)

// Defaults, documented in the example and the JSON Schema.
const (
	DefaultName      = "vela"
	DefaultLeaseTime = Duration(time.Hour)
	DefaultAPIPort   = 8443
	DefaultRaftPort  = 8444
	DefaultLabCount  = 3
	DefaultLabBridge = "vela-lab0"
	DefaultLabMemory = ByteSize(4 << 30)
	DefaultLabCPUs   = 2
	// DefaultLabRaftTimeout: TCG guests on a busy host stall for seconds;
	// 600 ms made the lab's leadership move every few seconds.
	DefaultLabRaftTimeout = Duration(5 * time.Second)
	DefaultAdminName      = "admin"
	// LabAddressBase is the host number of the first generated lab machine.
	LabAddressBase = 11
)

// ApplyDefaults fills every field the operator may leave out. It runs before
// Validate, in the loader and in the TUI alike; it never overwrites a value.
func ApplyDefaults(c *Config) {
	def(&c.Name, DefaultName)
	def(&c.OS.Image, ImageVelaOS)
	def(&c.Network.DHCP.Mode, DHCPFull)
	def(&c.Network.DHCP.LeaseTime, DefaultLeaseTime)
	def(&c.Network.Ports.DHCP, 67)
	def(&c.Network.Ports.TFTP, 69)
	def(&c.Network.Ports.HTTP, 80)
	def(&c.Discovery.Mode, DiscoveryIgnore)
	def(&c.ControlPlane.APIPort, DefaultAPIPort)
	def(&c.ControlPlane.RaftPort, DefaultRaftPort)
	def(&c.Admin.Name, DefaultAdminName)
	if c.Tenant.Cluster != nil {
		def(&c.Tenant.Cluster.Nodes, 1)
	}
	for i := range c.Machines {
		def(&c.Machines[i].Address, AddressDHCP)
	}
	if c.Lab != nil {
		applyLabDefaults(c)
		def(&c.Hypervisor.ReservedMemory, DefaultLabReservedMemory)
		def(&c.Hypervisor.NodeMemoryPercent, DefaultLabNodeMemoryPct)
		def(&c.ControlPlane.RaftTimeout, DefaultLabRaftTimeout)
	}
	def(&c.Hypervisor.ReservedMemory, DefaultReservedMemory)
	def(&c.Hypervisor.NodeMemoryPercent, DefaultNodeMemoryPercent)
	if c.ControlPlane.Members == 0 {
		c.ControlPlane.Members = len(c.Members())
	}
}

func applyLabDefaults(c *Config) {
	l := c.Lab
	if l.Count == 0 {
		l.Count = len(c.Machines)
	}
	def(&l.Count, DefaultLabCount)
	def(&l.Bridge, DefaultLabBridge)
	def(&l.Memory, DefaultLabMemory)
	def(&l.CPUs, DefaultLabCPUs)
	def(&l.Accel, AccelAuto)
	def(&l.Firmware, FirmwareBIOS)
	def(&c.Network.Interface, l.Bridge)
	if len(c.Machines) > 0 || l.Count < 1 || l.Count > 9 {
		return
	}
	prefix, err := netip.ParsePrefix(c.Network.Address)
	for i := 1; i <= l.Count; i++ {
		m := Machine{Name: fmt.Sprintf("lab-%d", i), MAC: LabMAC(i), Role: RoleBoth, Address: AddressDHCP, DataDisk: LabDataDisk}
		if err == nil && prefix.Addr().Is4() {
			a := prefix.Masked().Addr().As4()
			a[3] += byte(LabAddressBase - 1 + i)
			m.Address = netip.AddrFrom4(a).String()
		}
		c.Machines = append(c.Machines, m)
	}
}

// LabDataDisk is the node disk device of a generated lab machine: the lab
// gives each VM one sparse virtio disk (its only disk) for its nodes.
const LabDataDisk = "/dev/vda"

// LabMAC is the MAC address of lab machine i (locally administered, qemu's prefix).
func LabMAC(i int) string { return fmt.Sprintf("52:54:00:56:4c:%02x", i) }

func def[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}
