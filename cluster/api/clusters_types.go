package api

// Wire types of the cluster and tenant endpoints, shared with cluster/client.

// GrowRequest adds Nodes nodes to a cluster.
type GrowRequest struct {
	Nodes int `json:"nodes"`
}

// ResizeRequest sets a cluster's node count. Shrinking needs Remove to name
// the nodes to take out (drained in Swarm, left, deleted); nodes are never
// removed implicitly.
type ResizeRequest struct {
	Nodes  int      `json:"nodes"`
	Remove []string `json:"remove,omitempty"`
}

// CredentialsRequest asks for a client certificate of the cluster's CA for
// the key of CSR (PEM); the key never leaves the client.
type CredentialsRequest struct {
	CSR string `json:"csr"`
}

// Credentials are what the docker CLI needs to reach a cluster.
type Credentials struct {
	Cluster string `json:"cluster"` // tenant/name
	// Host is the IP of a running manager; DockerHost is tcp://HOST:2376.
	Host       string `json:"host"`
	DockerHost string `json:"docker_host"`
	CACert     string `json:"ca_cert"`
	Cert       string `json:"cert"`
}

// Whoami is the caller as the API sees it.
type Whoami struct {
	Kind   string `json:"kind"` // admin, tenant, member, agent, "" (anonymous)
	Name   string `json:"name,omitempty"`
	Tenant string `json:"tenant,omitempty"`
}

// AutoscaleRequest turns a cluster's autoscaler on or off. Zero fields keep
// the defaults: threshold 80 (percent), max the tenant's quota, cooldown 60 s.
type AutoscaleRequest struct {
	Enabled   bool   `json:"enabled"`
	Threshold int    `json:"threshold,omitempty"` // percent of the nodes' memory or CPU reserved, 1 to 100
	Max       int    `json:"max,omitempty"`
	Cooldown  string `json:"cooldown,omitempty"` // e.g. "60s"
}
