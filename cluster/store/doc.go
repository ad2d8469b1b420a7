// Package store owns Raft for the control plane: the on-disk log and stable
// store (raft-wal by default, raft-boltdb as the measured alternative), file
// snapshots, the mutual-TLS stream transport between members, bootstrap,
// adding and removing members, leadership transfer on graceful shutdown,
// offline recovery after quorum loss (RecoverCluster), and the cluster
// identity file that refuses a data dir of another cluster. It applies
// encoded commands and reports their fsm.Result; it knows nothing of HTTP or
// of what the commands mean.
package store
