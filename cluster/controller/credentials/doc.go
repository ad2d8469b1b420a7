// Package credentials owns the PKI of tenant clusters: each cluster has its
// own CA (generated before the cluster is proposed, so the FSM stays
// deterministic), which signs the dockerd server certificate of every node
// (for the node's address) and the client certificates of the tenant and of
// the controller. It also renders the credentials bundle a tenant uses with
// the plain docker CLI (ca.pem, cert.pem, key.pem, docker.env and friends)
// and the shell lines of `vela env`.
//
// It never stores anything: callers keep the CA in the replicated state and
// hand client keys to the tenant only.
package credentials
