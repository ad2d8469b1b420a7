package agent

import (
	"context"

	"github.com/vela-appliance/vela/cluster/agent/hypervisor"
	"github.com/vela-appliance/vela/cluster/agent/node"
)

// NodeState is a node's state as the agent reports it.
type NodeState string

// Node states. A node moves creating -> running, and to failed (with a
// reason) or deleted from any state.
const (
	Creating NodeState = "creating"
	Running  NodeState = "running"
	Failed   NodeState = "failed"
	Deleted  NodeState = "deleted"
)

// Registration is what a hypervisor tells the control plane when it joins.
type Registration struct {
	Hostname       string `json:"hostname"`
	CPUs           int    `json:"cpus"`
	MemoryBytes    uint64 `json:"memory_bytes"`
	DiskBytes      uint64 `json:"disk_bytes"` // free space for node disks
	LibvirtVersion string `json:"libvirt_version"`
	KernelVersion  string `json:"kernel_version"`
	ImageVersion   string `json:"image_version"`
}

// Usage is what a heartbeat carries.
type Usage struct {
	Hostname            string `json:"hostname"`
	Nodes               int    `json:"nodes"`
	AllocatedMemory     uint64 `json:"allocated_memory_bytes"`
	AllocatedVCPUs      int    `json:"allocated_vcpus"`
	AllocatedDiskBytes  uint64 `json:"allocated_disk_bytes"`
	LibvirtReachable    bool   `json:"libvirt_reachable"`
	LastReconcileErrors int    `json:"last_reconcile_errors"`
}

// DesiredNode is a node the control plane has placed on this hypervisor,
// with its tenant network and dockerd TLS material.
type DesiredNode struct {
	Spec    node.Spec
	Network node.TenantNet
	TLS     node.TLS
}

// NodeStatus is one node's reported state.
type NodeStatus struct {
	Name   string    `json:"name"`
	State  NodeState `json:"state"`
	Reason string    `json:"reason,omitempty"`
}

// ControlPlane is what the agent needs from the control plane.
type ControlPlane interface {
	Register(ctx context.Context, r Registration) error
	Heartbeat(ctx context.Context, u Usage) error
	// DesiredNodes returns every node placed on this hypervisor.
	DesiredNodes(ctx context.Context, hostname string) ([]DesiredNode, error)
	ReportNode(ctx context.Context, hostname string, s NodeStatus) error
}

// Hypervisor is the libvirt driver, as cluster/agent/hypervisor.Client
// implements it.
type Hypervisor interface {
	Define(ctx context.Context, xml string) (hypervisor.Domain, error)
	Start(ctx context.Context, name string) error
	Stop(ctx context.Context, name string) error
	Undefine(ctx context.Context, name string) error
	List(ctx context.Context) ([]hypervisor.Domain, error)
	Info(ctx context.Context) (hypervisor.HostInfo, error)
}

// Nodes prepares and removes nodes on the host, as
// cluster/agent/node.Manager implements it, plus the tenant networks.
type Nodes interface {
	Prepare(ctx context.Context, s node.Spec, tls node.TLS) (string, error)
	Handover(ctx context.Context, s node.Spec) error
	WaitReady(ctx context.Context, s node.Spec) error
	Remove(ctx context.Context, name string) error
	Nodes() ([]string, error)
	EnsureNetwork(ctx context.Context, n node.TenantNet) (string, error)
	// EnsureRoutes routes the local tenants' subnets on other hypervisors
	// and keeps tenants apart across hypervisors (see node.EnsureRoutes).
	EnsureRoutes(ctx context.Context, local []node.TenantNet, routes []node.Route) error
}

// Desired is everything the control plane wants on this hypervisor.
type Desired struct {
	Nodes []DesiredNode
	// Routes lead to the subnets, on other hypervisors, of the tenants
	// with nodes here.
	Routes []node.Route
	// Deleted names nodes the control plane wants gone that have not been
	// reported deleted yet.
	Deleted []string
}

// DesiredStater is a ControlPlane that knows more than the nodes: routes
// to other hypervisors and nodes to forget (APIControlPlane). The agent
// uses it instead of DesiredNodes when the control plane has it.
type DesiredStater interface {
	Desired(ctx context.Context, hostname string) (Desired, error)
}
