package config

// SchemaVersion is the only config version this build understands.
const SchemaVersion = 1

// Config is an install config: the rack, how it boots and what to create.
// The YAML names are the `yaml` tags; the TUI builds this same struct.
type Config struct {
	Version           int          `yaml:"version" json:"version" jsonschema:"required,enum=1" jsonschema_description:"Schema version of this file; always 1."`
	Name              string       `yaml:"name" json:"name,omitempty" jsonschema_description:"Name of this appliance (a DNS label); default vela."`
	Network           Network      `yaml:"network" json:"network" jsonschema:"required" jsonschema_description:"The boot network the seed serves DHCP/TFTP/HTTP on."`
	OS                OS           `yaml:"os" json:"os,omitempty" jsonschema_description:"The operating system machines boot."`
	Machines          []Machine    `yaml:"machines" json:"machines,omitempty" jsonschema_description:"The machines of the rack, known by MAC and/or SMBIOS UUID."`
	Discovery         Discovery    `yaml:"discovery" json:"discovery,omitempty" jsonschema_description:"What to do with machines that PXE-boot but are not listed."`
	SSHAuthorizedKeys []string     `yaml:"ssh_authorized_keys" json:"ssh_authorized_keys,omitempty" jsonschema_description:"OpenSSH public keys allowed to log in as core on every machine."`
	ControlPlane      ControlPlane `yaml:"control_plane" json:"control_plane,omitempty" jsonschema_description:"The Raft-replicated control plane."`
	Admin             Admin        `yaml:"admin" json:"admin,omitempty" jsonschema_description:"The first administrator."`
	Tenant            Tenant       `yaml:"tenant" json:"tenant,omitempty" jsonschema_description:"The first tenant and optionally its first cluster."`
	Hypervisor        Hypervisor   `yaml:"hypervisor" json:"hypervisor,omitempty" jsonschema_description:"How every hypervisor offers its memory to tenant nodes."`
	PXE               PXE          `yaml:"pxe" json:"pxe,omitzero" jsonschema_description:"Network boot after the install (day 2)."`
	Butane            []Snippet    `yaml:"butane" json:"butane,omitempty" jsonschema_description:"Operator Butane snippets merged into every machine's Ignition config."`
	Lab               *Lab         `yaml:"lab" json:"lab,omitempty" jsonschema_description:"Run the whole appliance on this host: qemu VMs on a private bridge stand in for the rack."`
}

// PXE is what the members do about network boot once the seed is gone.
type PXE struct {
	Day2 *bool `yaml:"day2" json:"day2,omitempty" jsonschema_description:"The members serve network boot after the install (DHCP in network.dhcp.mode, TFTP, HTTP; only the Raft leader serves), so machines can be admitted and rebooted without the seed: each member's vela server runs with --boot-interface auto --boot-images /var/lib/vela/images and gets the kernel and initramfs of os.image (vela-os and fcos; custom images are not copied). Default true; false leaves day-2 boot off."`
}

// Day2Boot tells whether the members serve network boot after the install
// (pxe.day2, default true).
func (c *Config) Day2Boot() bool { return c.PXE.Day2 == nil || *c.PXE.Day2 }

// Hypervisor is the node hosting policy of every hypervisor.
type Hypervisor struct {
	ReservedMemory    ByteSize `yaml:"reserved_memory" json:"reserved_memory,omitempty" jsonschema:"type=string" jsonschema_description:"Memory each hypervisor keeps for itself and never gives to nodes. Default 2GiB (1GiB in a lab)."`
	NodeMemoryPercent int      `yaml:"node_memory_percent" json:"node_memory_percent,omitempty" jsonschema_description:"How much the nodes' memory limits may add up to, in percent of what is left after reserved_memory: 100 (default: never more than the machine has) to 400. A node's limit is a ceiling, not a reservation; a lab uses 200, since its VMs touch little of their memory."`
}

// Hypervisor defaults.
const (
	DefaultReservedMemory    = ByteSize(2 << 30)
	DefaultLabReservedMemory = ByteSize(1 << 30)
	DefaultNodeMemoryPercent = 100
	DefaultLabNodeMemoryPct  = 200
)

// DHCP modes.
const (
	DHCPFull  = "full"  // the only DHCP server on the boot network
	DHCPProxy = "proxy" // beside an existing DHCP server: boot options only
	DHCPOff   = "off"   // no DHCP from Vela at all
)

// Network is the boot network.
type Network struct {
	Interface string   `yaml:"interface" json:"interface,omitempty" jsonschema_description:"Host interface on the boot network (in the lab: the bridge; defaulted)."`
	Address   string   `yaml:"address" json:"address" jsonschema:"required" jsonschema_description:"The seed's address on the boot network with its prefix length, e.g. 10.0.0.1/24."`
	DHCP      DHCP     `yaml:"dhcp" json:"dhcp,omitempty"`
	Gateway   string   `yaml:"gateway" json:"gateway,omitempty" jsonschema_description:"Default gateway handed to machines (optional)."`
	DNS       []string `yaml:"dns" json:"dns,omitempty" jsonschema_description:"DNS servers handed to machines."`
	Ports     Ports    `yaml:"ports" json:"ports,omitempty"`
}

// DHCP configures Vela's DHCP server.
type DHCP struct {
	Mode      string   `yaml:"mode" json:"mode,omitempty" jsonschema:"enum=full,enum=proxy,enum=off" jsonschema_description:"full: Vela is the DHCP server; proxy: an existing DHCP server hands out addresses and Vela only adds boot options; off: no DHCP. Default full."`
	Pool      string   `yaml:"pool" json:"pool,omitempty" jsonschema_description:"Dynamic address range FIRST-LAST inside the subnet (full mode only)."`
	LeaseTime Duration `yaml:"lease_time" json:"lease_time,omitempty" jsonschema:"type=string" jsonschema_description:"Lease duration, e.g. 1h. Default 1h."`
}

// Ports are the listening ports of the boot services.
type Ports struct {
	DHCP int `yaml:"dhcp" json:"dhcp,omitempty" jsonschema_description:"DHCP server port; default 67."`
	TFTP int `yaml:"tftp" json:"tftp,omitempty" jsonschema_description:"TFTP server port; default 69."`
	HTTP int `yaml:"http" json:"http,omitempty" jsonschema_description:"HTTP boot server port; default 80."`
}

// OS images.
const (
	ImageVelaOS = "vela-os"
	ImageFCOS   = "fcos"
	ImageCustom = "custom"
)

// OS chooses what machines boot.
type OS struct {
	Image      string `yaml:"image" json:"image,omitempty" jsonschema:"enum=vela-os,enum=fcos,enum=custom" jsonschema_description:"vela-os (built offline from Debian packages; default), fcos (Fedora CoreOS) or custom."`
	Kernel     string `yaml:"kernel" json:"kernel,omitempty" jsonschema_description:"custom only: path of the kernel (relative to this file)."`
	Initramfs  string `yaml:"initramfs" json:"initramfs,omitempty" jsonschema_description:"custom only: path of the initramfs."`
	Rootfs     string `yaml:"rootfs" json:"rootfs,omitempty" jsonschema_description:"custom only: path of the root image (optional)."`
	KernelArgs string `yaml:"kernel_args" json:"kernel_args,omitempty" jsonschema_description:"Extra kernel command line appended for every machine."`
}

// Machine roles.
const (
	RoleMember     = "member"
	RoleHypervisor = "hypervisor"
	RoleBoth       = "both"
)

// AddressDHCP as a machine address means: take a lease.
const AddressDHCP = "dhcp"

// Machine is one bare-metal server.
type Machine struct {
	Name    string `yaml:"name" json:"name" jsonschema:"required" jsonschema_description:"Hostname of the machine (a DNS label)."`
	MAC     string `yaml:"mac" json:"mac,omitempty" jsonschema_description:"MAC address of the NIC it network-boots from."`
	UUID    string `yaml:"uuid" json:"uuid,omitempty" jsonschema_description:"SMBIOS system UUID."`
	Role    string `yaml:"role" json:"role" jsonschema:"required,enum=member,enum=hypervisor,enum=both" jsonschema_description:"member runs the control plane; hypervisor hosts tenant nodes; both does both."`
	Address string `yaml:"address" json:"address,omitempty" jsonschema_description:"Static IPv4 address in the boot subnet, or dhcp (default)."`
	Disk    string `yaml:"disk" json:"disk,omitempty" jsonschema_description:"Install disk, a kernel name such as /dev/sda or /dev/nvme0n1 (vela-os: whole disk repartitioned, labels VELA-OS/VELA-STATE; a disk holding data Vela did not write is refused, never wiped); empty runs live from RAM (diskless)."`
	// DataDisk holds a hypervisor's node disks.
	DataDisk string `yaml:"data_disk" json:"data_disk,omitempty" jsonschema_description:"Hypervisors: block device for the tenant nodes' disks, such as /dev/sdb. Formatted (ext4, label vela-nodes) at first boot only if it holds no filesystem, then mounted at /var/lib/vela/agent. Without it node disks live on the root filesystem (RAM on a live machine). The lab gives each VM one (/dev/vda)."`
}

// IsMember tells whether the machine runs the control plane.
func (m Machine) IsMember() bool { return m.Role == RoleMember || m.Role == RoleBoth }

// IsHypervisor tells whether the machine hosts nodes.
func (m Machine) IsHypervisor() bool { return m.Role == RoleHypervisor || m.Role == RoleBoth }

// Static tells whether the machine has a fixed address.
func (m Machine) Static() bool { return m.Address != "" && m.Address != AddressDHCP }

// Discovery modes.
const (
	DiscoveryIgnore = "ignore"
	DiscoveryAdmit  = "admit"
)

// Discovery decides what happens to machines that boot but are not listed.
type Discovery struct {
	Mode string `yaml:"mode" json:"mode,omitempty" jsonschema:"enum=ignore,enum=admit" jsonschema_description:"ignore: record them and boot nothing; admit: record them too, and vela machines admit (day 2, from the members) makes one bootable with a role. Default ignore."`
	Role string `yaml:"role" json:"role,omitempty" jsonschema:"enum=hypervisor" jsonschema_description:"Role given to admitted machines (only hypervisor)."`
}

// ControlPlane sizes the control plane.
type ControlPlane struct {
	Members  int `yaml:"members" json:"members,omitempty" jsonschema:"enum=1,enum=3,enum=5" jsonschema_description:"Number of Raft voters; must equal the machines with role member or both. Default: that count."`
	APIPort  int `yaml:"api_port" json:"api_port,omitempty" jsonschema_description:"Port of the API on every member; default 8443."`
	RaftPort int `yaml:"raft_port" json:"raft_port,omitempty" jsonschema_description:"Port of Raft traffic between members; default 8444."`
	// RaftTimeout is rendered as `vela server --raft-timeout` (0: the
	// member's own default, 600ms).
	RaftTimeout Duration `yaml:"raft_timeout" json:"raft_timeout,omitempty" jsonschema:"type=string" jsonschema_description:"Raft heartbeat and election timeout and leader lease, e.g. 2s. Default 600ms, for real servers on a LAN; 5s in a lab, whose emulated machines stall for seconds. Longer means fewer needless elections and a slower failover (a dead leader is replaced after 1-2 timeouts)."`
}

// Admin is the first administrator; its token is generated at install.
type Admin struct {
	Name string `yaml:"name" json:"name,omitempty" jsonschema_description:"Administrator name; default admin."`
}

// Tenant is the first tenant.
type Tenant struct {
	Name    string         `yaml:"name" json:"name,omitempty" jsonschema_description:"First tenant's name (a DNS label); empty creates none."`
	Cluster *TenantCluster `yaml:"cluster" json:"cluster,omitempty" jsonschema_description:"A first cluster for that tenant."`
}

// TenantCluster is a cluster created at install.
type TenantCluster struct {
	Name  string `yaml:"name" json:"name" jsonschema:"required" jsonschema_description:"Cluster name (a DNS label)."`
	Nodes int    `yaml:"nodes" json:"nodes,omitempty" jsonschema_description:"Number of nodes, 1 to 10; default 1."`
}

// Snippet is an operator Butane snippet merged into every machine's config.
type Snippet struct {
	Name   string `yaml:"name" json:"name" jsonschema:"required" jsonschema_description:"Name used in messages."`
	Inline string `yaml:"inline" json:"inline,omitempty" jsonschema_description:"Butane YAML (variant and version included)."`
	Path   string `yaml:"path" json:"path,omitempty" jsonschema_description:"File holding Butane YAML, relative to this file."`
}

// Lab accelerators and firmwares.
const (
	AccelAuto = "auto"
	AccelKVM  = "kvm"
	AccelTCG  = "tcg"

	FirmwareBIOS = "bios"
	FirmwareUEFI = "uefi"
)

// Lab makes qemu VMs on a private bridge stand in for the machines.
type Lab struct {
	Count    int      `yaml:"count" json:"count,omitempty" jsonschema_description:"Number of VMs; machines lab-1..N are generated when machines is empty. Default 3."`
	Bridge   string   `yaml:"bridge" json:"bridge,omitempty" jsonschema_description:"Name of the private bridge; default vela-lab0."`
	Memory   ByteSize `yaml:"memory" json:"memory,omitempty" jsonschema:"type=string" jsonschema_description:"Memory of each VM, e.g. 4GiB. Default 4GiB."`
	CPUs     int      `yaml:"cpus" json:"cpus,omitempty" jsonschema_description:"vCPUs of each VM; default 2."`
	Accel    string   `yaml:"accel" json:"accel,omitempty" jsonschema:"enum=auto,enum=kvm,enum=tcg" jsonschema_description:"auto uses KVM where it really runs guests, TCG otherwise."`
	Firmware string   `yaml:"firmware" json:"firmware,omitempty" jsonschema:"enum=bios,enum=uefi" jsonschema_description:"VM firmware; default bios."`
}

// Members returns the machines with a member role, in file order.
func (c *Config) Members() []Machine { return c.filter(Machine.IsMember) }

// Hypervisors returns the machines with a hypervisor role, in file order.
func (c *Config) Hypervisors() []Machine { return c.filter(Machine.IsHypervisor) }

func (c *Config) filter(keep func(Machine) bool) []Machine {
	var out []Machine
	for _, m := range c.Machines {
		if keep(m) {
			out = append(out, m)
		}
	}
	return out
}

// Machine returns the machine named name.
func (c *Config) Machine(name string) (Machine, bool) {
	for _, m := range c.Machines {
		if m.Name == name {
			return m, true
		}
	}
	return Machine{}, false
}
