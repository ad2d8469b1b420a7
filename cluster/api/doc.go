// Package api is the control plane's HTTP/JSON API under /v1, served over
// TLS by every member: bearer-token (admin, tenant) and client-certificate
// (member, agent) authentication, one leader-forwarding helper through which
// every write goes, linearizable reads by default (on the leader, after a
// barrier once per term and VerifyLeader per read) unless ?stale=true, body limits with errors
// naming the field, /healthz, /readyz, /metrics and /v1/openapi.json built
// from the route table. It stamps times, IDs and secrets before proposing;
// it does not own Raft, storage or the state's rules (cluster/store,
// cluster/fsm).
package api
