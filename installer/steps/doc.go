// Package steps holds the executors of the install plan: for each step kind,
// the function that does it with the real parts (the bridge and VMs of the
// lab, the image builder, the boot services, the control plane client). The
// runner in installer/run calls them; each one is idempotent, so a resumed
// run may call it again safely.
//
// A kind this build cannot execute yet is simply absent from Executors, and
// the runner refuses to start rather than stop half-way.
package steps
