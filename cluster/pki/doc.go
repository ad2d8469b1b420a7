// Package pki owns the cluster's certificate authority and its secrets: it
// generates the CA at bootstrap (the key written 0600 and kept only on
// members; a joining member receives it in the join response, over TLS,
// after its single-use member token was consumed), issues member and agent
// certificates from certificate requests, builds the mutual-TLS configs
// members and agents use, and makes and hashes join and API tokens. It does
// no network I/O and stores nothing beyond the files it is asked to write.
package pki
