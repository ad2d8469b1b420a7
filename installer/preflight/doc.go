// Package preflight checks the host before an install touches anything:
// privileges, the boot interface and its address, free ports, disk space,
// required programs, files the config points at, and (for a lab) that the
// private subnet does not clash with the host's routes.
//
// Each failed check says how to fix it. It reads the host through the small
// Host interface so every rule is unit-tested with a fake; it never changes
// the host.
package preflight
