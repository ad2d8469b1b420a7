// Package client is the Go client of the control plane API that the CLI,
// joining members, agents and the fault harness use. It resolves the
// endpoint, token and CA from flags, the environment (VELA_URL, VELA_TOKEN,
// VELA_CA), a stored profile ($XDG_CONFIG_HOME/vela/config.yaml, written by
// `vela login`) or the installer's context file, in that order
// (ResolveFlags); speaks JSON over TLS; and turns failures into one-line
// errors (*Error for API answers). It holds no state of the cluster and no
// logic of its own.
package client
