// Package client is the Go client of the control plane API that the CLI
// (vela members, vela events), joining members and the fault harness use.
// It resolves the endpoint, token and CA from flags or the environment
// (VELA_SERVER, VELA_TOKEN, VELA_CA), speaks JSON over TLS, and turns error
// bodies into *Error. It holds no state of the cluster and no logic of its own.
package client
