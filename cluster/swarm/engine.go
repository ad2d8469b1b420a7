package swarm

import (
	"context"
	"net"
	"slices"
)

// Engine is the Docker Engine API of one node, as far as Swarm needs it.
type Engine interface {
	Info(ctx context.Context) (Info, error)
	// Init makes the engine the first manager of a new swarm.
	Init(ctx context.Context, req InitRequest) (nodeID string, err error)
	// Inspect returns the swarm as a manager sees it (join tokens included).
	Inspect(ctx context.Context) (Swarm, error)
	Join(ctx context.Context, req JoinRequest) error
	Leave(ctx context.Context, force bool) error
	// Nodes lists the swarm's nodes (managers only).
	Nodes(ctx context.Context) ([]Node, error)
	// RemoveNode deletes a node that left from the swarm's list (managers only).
	RemoveNode(ctx context.Context, id string, force bool) error
}

// Info is the part of GET /info that Swarm formation reads.
type Info struct {
	ID            string    `json:"ID"`
	Name          string    `json:"Name"`
	ServerVersion string    `json:"ServerVersion"`
	NCPU          int       `json:"NCPU"`
	MemTotal      int64     `json:"MemTotal"`
	Swarm         SwarmInfo `json:"Swarm"`
}

// SwarmInfo is the engine's own view of its swarm membership.
type SwarmInfo struct {
	NodeID           string `json:"NodeID"`
	NodeAddr         string `json:"NodeAddr"`
	LocalNodeState   string `json:"LocalNodeState"` // inactive, pending, active, error, locked
	ControlAvailable bool   `json:"ControlAvailable"`
	Error            string `json:"Error"`
	Cluster          *struct {
		ID string `json:"ID"`
	} `json:"Cluster"`
	Managers int `json:"Managers"`
	Nodes    int `json:"Nodes"`
	// RemoteManagers are the managers a node knows (workers have no
	// Cluster in their info: this is how they tell their swarm).
	RemoteManagers []struct {
		NodeID string `json:"NodeID"`
		Addr   string `json:"Addr"`
	} `json:"RemoteManagers"`
}

// WorkerOf tells whether the engine is an active worker whose managers
// include one of managerAddrs (IPs): a worker's info carries no cluster ID.
func (s SwarmInfo) WorkerOf(managerAddrs []string) bool {
	if s.LocalNodeState != "active" || s.ControlAvailable {
		return false
	}
	for _, m := range s.RemoteManagers {
		host, _, err := net.SplitHostPort(m.Addr)
		if err != nil {
			host = m.Addr
		}
		if slices.Contains(managerAddrs, host) {
			return true
		}
	}
	return false
}

// ClusterID returns the swarm's ID, or "" when not in a swarm.
func (s SwarmInfo) ClusterID() string {
	if s.Cluster == nil {
		return ""
	}
	return s.Cluster.ID
}

// InitRequest is POST /swarm/init.
type InitRequest struct {
	ListenAddr    string `json:"ListenAddr"`
	AdvertiseAddr string `json:"AdvertiseAddr"`
	// ForceNewCluster recovers a swarm that lost its managers' quorum
	// from this (former) manager, keeping services, networks and volumes.
	ForceNewCluster bool `json:"ForceNewCluster,omitempty"`
}

// JoinRequest is POST /swarm/join.
type JoinRequest struct {
	ListenAddr    string   `json:"ListenAddr"`
	AdvertiseAddr string   `json:"AdvertiseAddr"`
	RemoteAddrs   []string `json:"RemoteAddrs"`
	JoinToken     string   `json:"JoinToken"`
}

// Swarm is GET /swarm.
type Swarm struct {
	ID         string `json:"ID"`
	JoinTokens struct {
		Worker  string `json:"Worker"`
		Manager string `json:"Manager"`
	} `json:"JoinTokens"`
}

// Node is one entry of GET /nodes.
type Node struct {
	ID          string `json:"ID"`
	Description struct {
		Hostname string `json:"Hostname"`
	} `json:"Description"`
	Spec struct {
		Role         string            `json:"Role"`
		Availability string            `json:"Availability"`
		Labels       map[string]string `json:"Labels,omitempty"`
	} `json:"Spec"`
	Status struct {
		State string `json:"State"` // ready, down, unknown, disconnected
		Addr  string `json:"Addr"`
	} `json:"Status"`
	ManagerStatus *struct {
		Leader       bool   `json:"Leader"`
		Reachability string `json:"Reachability"`
		Addr         string `json:"Addr"`
	} `json:"ManagerStatus"`
}
