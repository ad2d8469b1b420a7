package fsm

import "time"

// Member is a control plane member as recorded in the replicated state (Raft
// keeps the voting configuration; this adds the API address clients and
// followers use to reach it).
type Member struct {
	ID       string    `json:"id"`
	RaftAddr string    `json:"raft_addr"`
	APIAddr  string    `json:"api_addr"`
	Joined   time.Time `json:"joined"`
}

// Machine is a bare-metal server known by MAC and/or SMBIOS UUID.
type Machine struct {
	Name    string            `json:"name"`
	MAC     string            `json:"mac,omitempty"`
	UUID    string            `json:"uuid,omitempty"`
	Role    string            `json:"role,omitempty"`
	Address string            `json:"address,omitempty"`
	State   string            `json:"state,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	// Disk is the install disk ("" runs live from RAM); see MachineInstalled.
	Disk string `json:"disk,omitempty"`
	// BootToken gates the machine's Ignition and report requests on the
	// boot server (a secret: the API never returns it).
	BootToken   string `json:"boot_token,omitempty"`
	ModifyIndex uint64 `json:"modify_index"`
}

// Hypervisor is a machine that runs the agent and hosts nodes. The agent
// registers it (capacity, versions) and heartbeats (usage); the proposer
// stamps LastSeen. State is "ready", "draining" (set by an admin: no new
// nodes are placed) or "" (registered, not yet heard from); readers derive
// "unreachable" from LastSeen.
type Hypervisor struct {
	Name           string    `json:"name"`
	Address        string    `json:"address,omitempty"` // IP the members and other hypervisors reach it on
	CPUs           int       `json:"cpus,omitempty"`
	MemoryBytes    int64     `json:"memory_bytes,omitempty"`
	DiskBytes      int64     `json:"disk_bytes,omitempty"`
	LibvirtVersion string    `json:"libvirt_version,omitempty"`
	KernelVersion  string    `json:"kernel_version,omitempty"`
	ImageVersion   string    `json:"image_version,omitempty"`
	Usage          HVUsage   `json:"usage"`
	State          string    `json:"state,omitempty"`
	LastSeen       time.Time `json:"last_seen,omitzero"`
	ModifyIndex    uint64    `json:"modify_index"`
}

// HVUsage is what a hypervisor's last heartbeat reported.
type HVUsage struct {
	Nodes            int   `json:"nodes"`
	MemoryBytes      int64 `json:"memory_bytes"`
	VCPUs            int   `json:"vcpus"`
	DiskBytes        int64 `json:"disk_bytes"`
	LibvirtReachable bool  `json:"libvirt_reachable"`
}

// Hypervisor states (see Hypervisor).
const (
	HypervisorReady    = "ready"
	HypervisorDraining = "draining"
)

// Subnet is a tenant's IPv4 subnet on one hypervisor: the tenant bridge
// there has the gateway (first host address); nodes of that tenant placed
// on that hypervisor get addresses from it. Other hypervisors route the
// prefix to Hypervisor's address. Key: "tenant/hypervisor".
type Subnet struct {
	Tenant      string `json:"tenant"`
	Hypervisor  string `json:"hypervisor"`
	Prefix      string `json:"prefix"` // e.g. 10.200.3.0/24
	ModifyIndex uint64 `json:"modify_index"`
}

// Key is the subnet's key in the state.
func (s Subnet) Key() string { return s.Tenant + "/" + s.Hypervisor }

// Default tenant quotas.
const (
	DefaultMaxClusters        = 3
	DefaultMaxNodesPerCluster = 10
)

// Quota limits what a tenant may own.
type Quota struct {
	MaxClusters        int `json:"max_clusters"`
	MaxNodesPerCluster int `json:"max_nodes_per_cluster"`
}

// Tenant is an account that owns clusters.
type Tenant struct {
	Name        string    `json:"name"`
	Quota       Quota     `json:"quota"`
	Created     time.Time `json:"created"`
	ModifyIndex uint64    `json:"modify_index"`
}

// Token scopes.
const (
	ScopeAdmin  = "admin"
	ScopeTenant = "tenant"
)

// APIToken is a bearer token; only the SHA-256 of its secret is stored.
type APIToken struct {
	ID          string    `json:"id"`
	Name        string    `json:"name,omitempty"`
	Hash        string    `json:"hash"`
	Scope       string    `json:"scope"`
	Tenant      string    `json:"tenant,omitempty"`
	Created     time.Time `json:"created"`
	ModifyIndex uint64    `json:"modify_index"`
}

// Cluster is a tenant's Docker Swarm: a set of nodes. Its key is
// "tenant/name".
type Cluster struct {
	Tenant      string    `json:"tenant"`
	Name        string    `json:"name"`
	Nodes       int       `json:"nodes"`
	State       string    `json:"state,omitempty"`
	Created     time.Time `json:"created"`
	ModifyIndex uint64    `json:"modify_index"`

	// Spec (written by the API; each change bumps Generation).
	Generation uint64 `json:"generation,omitempty"`
	// Remove names nodes to take out on an explicit resize: drained in
	// Swarm, left, then deleted.
	Remove []string `json:"remove,omitempty"`
	// Rebuild is the generation at which a rebuild was requested (0: none).
	Rebuild uint64 `json:"rebuild,omitempty"`
	// Deleting: the tenant asked for removal; the controller deletes the
	// nodes, then the record.
	Deleting bool `json:"deleting,omitempty"`
	// Autoscale is the autoscaling policy (issue 9); nil: off.
	Autoscale *AutoscalePolicy `json:"autoscale,omitempty"`
	// CACert and CAKey are the cluster's own CA (PEM), generated by the API
	// before proposing: it signs the nodes' dockerd certificates and the
	// tenant's client certificates. Read endpoints never return CAKey.
	CACert string `json:"ca_cert,omitempty"`
	CAKey  string `json:"ca_key,omitempty"`

	// Status (written by the controller with TypeClusterStatus).
	ClusterStatus
}

// ClusterStatus is what the controller reports of a cluster.
type ClusterStatus struct {
	// Reason says why the cluster is in its state (always set for error).
	Reason string `json:"reason,omitempty"`
	// NextStep says what the tenant or operator can do about it.
	NextStep string `json:"next_step,omitempty"`
	// Health is healthy, degraded or unknown, from Swarm node status.
	Health       string `json:"health,omitempty"`
	HealthDetail string `json:"health_detail,omitempty"`
	// SwarmID is the Docker Swarm's cluster ID.
	SwarmID string `json:"swarm_id,omitempty"`
	// Managers are the names of the nodes that are Swarm managers.
	Managers []string `json:"managers,omitempty"`
	// SwarmInit is the node a new cluster's Swarm is initialised on,
	// recorded before the init so that a controller on a new leader inits
	// nowhere else (two Swarms in one cluster otherwise).
	SwarmInit string `json:"swarm_init,omitempty"`
	// Observed is the Generation this status was computed for.
	Observed uint64 `json:"observed,omitempty"`
	// Rebuilt is the Rebuild generation last carried out.
	Rebuilt uint64    `json:"rebuilt,omitempty"`
	Updated time.Time `json:"updated,omitzero"`
}

// AutoscalePolicy is a cluster's autoscaling setting (see cluster/autoscale).
type AutoscalePolicy struct {
	Enabled   bool    `json:"enabled"`
	Threshold float64 `json:"threshold,omitempty"` // fraction, 0.8 = 80%
	Max       int     `json:"max,omitempty"`       // 0: the tenant's max_nodes_per_cluster
	// CooldownSeconds between two scale-ups (0: 60).
	CooldownSeconds int `json:"cooldown_seconds,omitempty"`
	// LastScaleUp is stamped by the controller when it grows the cluster,
	// LastDecision says why (with the figures).
	LastScaleUp  time.Time `json:"last_scale_up,omitzero"`
	LastDecision string    `json:"last_decision,omitempty"`
	// LastNote is the message of the last autoscale note recorded as an
	// event (TypeAutoscaleNote): an unchanged blocked verdict is not
	// recorded again. "" after a note that cleared it.
	LastNote string `json:"last_note,omitempty"`
}

// Cluster states.
const (
	ClusterNew        = "new"
	ClusterBuilding   = "building"
	ClusterActive     = "active"
	ClusterGrowing    = "growing"
	ClusterResizing   = "resizing"
	ClusterRebuilding = "rebuilding"
	ClusterDeleting   = "deleting"
	ClusterDeleted    = "deleted"
	ClusterError      = "error"
)

// Cluster health.
const (
	HealthHealthy  = "healthy"
	HealthDegraded = "degraded"
	HealthUnknown  = "unknown"
)

// SetClusterStatus is the body of TypeClusterStatus: the status of the
// cluster Key as computed for Generation (refused if the spec moved on).
type SetClusterStatus struct {
	Meta
	Key        string        `json:"key"`
	Generation uint64        `json:"generation"`
	State      string        `json:"state"`
	Status     ClusterStatus `json:"status"`
	// SwarmInitWas is the SwarmInit the status was computed from: a status
	// that would change a recorded SwarmInit it did not see is refused.
	SwarmInitWas string `json:"swarm_init_was,omitempty"`
}

// Key is the cluster's key in the state.
func (c Cluster) Key() string { return c.Tenant + "/" + c.Name }

// Node is one LXC container on a hypervisor. Its key is its Name, which is
// unique across the appliance. The controller writes the desired fields
// (placement, address, limits, TLS, Desired); the hypervisor's agent writes
// State and Reason.
type Node struct {
	Name        string `json:"name"`
	Tenant      string `json:"tenant"`
	Cluster     string `json:"cluster"`
	Hypervisor  string `json:"hypervisor,omitempty"`
	Address     string `json:"address,omitempty"` // IPv4 with the subnet's length, 10.200.3.10/24
	Gateway     string `json:"gateway,omitempty"` // the tenant bridge's address on the hypervisor
	MemoryBytes int64  `json:"memory_bytes,omitempty"`
	VCPUs       int    `json:"vcpus,omitempty"`
	DiskBytes   int64  `json:"disk_bytes,omitempty"`
	// Role is the node's Swarm role: manager or worker.
	Role string `json:"role,omitempty"`
	// TLS is the node dockerd's server material, issued by the cluster's
	// CA. Only the node's own agent (and admins asking for one node) see the
	// key: list endpoints clear it.
	TLS *NodeTLS `json:"tls,omitempty"`
	// Desired is "running" (default) or "deleted" (the agent removes it,
	// then the controller deletes the record).
	Desired string `json:"desired,omitempty"`
	// State is the agent's report: creating, running, failed, deleted
	// ("" before the agent has seen it).
	State       string    `json:"state,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Created     time.Time `json:"created,omitzero"`
	ModifyIndex uint64    `json:"modify_index"`
}

// NodeTLS is the PEM material of a node's dockerd.
type NodeTLS struct {
	CACert string `json:"ca_cert"`
	Cert   string `json:"cert"`
	Key    string `json:"key,omitempty"`
}

// Node desired states and agent-reported states.
const (
	NodeDesiredRunning = "running"
	NodeDesiredDeleted = "deleted"
	NodeCreating       = "creating"
	NodeRunning        = "running"
	NodeFailed         = "failed"
	NodeDeleted        = "deleted"
)

// Join token roles.
const (
	JoinMember = "member"
	JoinAgent  = "agent"
)

// JoinToken lets one machine join, once, before it expires. Only the
// SHA-256 of its secret is stored.
type JoinToken struct {
	ID      string    `json:"id"`
	Hash    string    `json:"hash"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	UsedBy  string    `json:"used_by,omitempty"`
	UsedAt  time.Time `json:"used_at,omitempty"`
}

// Event records one state change: who did what to which object, when.
type Event struct {
	Index  uint64    `json:"index"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Kind   string    `json:"kind"`
	Action string    `json:"action"`
	Object string    `json:"object"`
	// Cluster is the key (tenant/name) of the cluster the event concerns,
	// for cluster and node events and autoscale notes: tenants read their
	// own clusters' events by it.
	Cluster string `json:"cluster,omitempty"`
	// Message explains the change with its figures (autoscale notes).
	Message string `json:"message,omitempty"`
}

// ClusterInfo identifies the Raft cluster; written once at bootstrap.
type ClusterInfo struct {
	ID     string `json:"id"`
	CACert string `json:"ca_cert"`
}
