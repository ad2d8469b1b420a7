// Package cluster is the home of Vela's control plane. It holds no code of
// its own: the replicated state machine lives in cluster/fsm, Raft storage,
// transport and membership in cluster/store, the certificate authority and
// join tokens in cluster/pki, the HTTP API in cluster/api, the Go client the
// CLI uses in cluster/client, and the hypervisor agent in cluster/agent.
package cluster
