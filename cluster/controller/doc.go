// Package controller turns tenant clusters into running Docker Swarms. It
// runs on the Raft leader only (cluster/member starts it when the member
// becomes leader and stops it when leadership is lost) and reconciles, level
// by level, each cluster record into node records: it places missing nodes
// with scheduler.Place (anti-affinity; the whole request or nothing),
// allocates the tenant's /24 on each hypervisor and the nodes' addresses,
// issues each node's dockerd certificate from the cluster's CA, waits for
// the hypervisor agents to report the nodes running, forms the Swarm through
// each node's Engine API over TLS (swarm.Form), joins grown nodes, drains
// and removes nodes on explicit request, prunes vanished ones, and reports
// state, reason, next step and health through TypeClusterStatus.
//
// Every decision is a function of the replicated state and of what the
// engines answer, so a new leader continues where the old one stopped. It
// does not create nodes (the agent does) nor decide to grow (the API and
// the autoscaler do).
package controller
