// Package ignition renders the Ignition config of one machine: it fills the
// embedded Butane template for the machine's OS variant (fcos or vela-os)
// and role (member, hypervisor, both) with text/template, translates it with
// Butane in strict mode (a warning is an error), translates each operator
// snippet from the install config separately, merges them into the machine's
// config at the Ignition level, and validates the result with Ignition's own
// validator before anyone can serve it. Configs are rendered ahead of time,
// once per machine, into files readable only by their owner (0600). The
// package owns no secrets: the caller hands it the cluster CA certificate
// (never the key) and each machine's join token. It does not serve configs
// (pxe does) and does not know how machines are recognised.
package ignition
