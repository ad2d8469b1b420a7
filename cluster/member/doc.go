// Package member runs one control plane member (`vela server`): it decides
// between bootstrap, join and restart from what the data dir holds, prepares
// the member's certificate (generating the cluster CA at bootstrap, or
// getting a certificate with a join token), then wires cluster/fsm,
// cluster/store and cluster/api together and serves until its context ends,
// handing leadership over on the way out. It has no logic of the state, of
// Raft or of HTTP handling itself.
package member
