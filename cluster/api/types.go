package api

import "time"

// Wire types of the API, shared with cluster/client.

// ClusterInfo identifies the cluster.
type ClusterInfo struct {
	ID     string `json:"id"`
	Leader string `json:"leader,omitempty"`
}

// Status is one member's own view of Raft.
type Status struct {
	ID           string `json:"id"`
	ClusterID    string `json:"cluster_id"`
	State        string `json:"state"`
	LeaderID     string `json:"leader_id,omitempty"`
	Term         uint64 `json:"term"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	LastContact  string `json:"last_contact"`
	Ready        bool   `json:"ready"`
	Reason       string `json:"reason,omitempty"`
}

// JoinRequest uses a join token to get a certificate.
type JoinRequest struct {
	Token string `json:"token"`
	// Name is the member ID or agent (hypervisor) name, a DNS label.
	Name string `json:"name"`
	// CSR is a PEM certificate request for the joiner's key.
	CSR string `json:"csr"`
	// RaftAddr and APIAddr (IP:PORT) are a member's addresses.
	RaftAddr string `json:"raft_addr,omitempty"`
	APIAddr  string `json:"api_addr,omitempty"`
	// IPs are extra addresses for the certificate (agents).
	IPs []string `json:"ips,omitempty"`
}

// JoinResponse carries the signed certificate (and, for a member, the CA
// key every member keeps).
type JoinResponse struct {
	ClusterID string `json:"cluster_id"`
	Role      string `json:"role"`
	CACert    string `json:"ca_cert"`
	CAKey     string `json:"ca_key,omitempty"`
	Cert      string `json:"cert"`
}

// AddMemberRequest adds the calling member to Raft.
type AddMemberRequest struct {
	RaftAddr string `json:"raft_addr"`
	APIAddr  string `json:"api_addr"`
}

// MemberStatus is one row of `vela members ls`.
type MemberStatus struct {
	ID           string `json:"id"`
	RaftAddr     string `json:"raft_addr"`
	APIAddr      string `json:"api_addr,omitempty"`
	Role         string `json:"role"`
	Leader       bool   `json:"leader"`
	State        string `json:"state,omitempty"`
	LastContact  string `json:"last_contact,omitempty"`
	AppliedIndex uint64 `json:"applied_index"`
	Error        string `json:"error,omitempty"`
}

// TokenRequest asks for a join token.
type TokenRequest struct {
	// Role is member (default) or agent.
	Role string `json:"role,omitempty"`
	// TTL is how long it is valid, e.g. "1h" (default 1h, at most 24h).
	TTL string `json:"ttl,omitempty"`
}

// TokenResponse carries a new secret, shown once.
type TokenResponse struct {
	ID      string    `json:"id"`
	Token   string    `json:"token"`
	Expires time.Time `json:"expires,omitzero"`
}

// APITokenRequest creates an API token.
type APITokenRequest struct {
	Name   string `json:"name"`
	Scope  string `json:"scope"`
	Tenant string `json:"tenant,omitempty"`
}

// ClusterRequest creates or resizes a cluster.
type ClusterRequest struct {
	Nodes int `json:"nodes"`
	// Autoscale turns on the autoscaler for the cluster (issue 9).
	Autoscale bool `json:"autoscale,omitempty"`
}
