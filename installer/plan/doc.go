// Package plan turns a validated install config into the ordered list of
// steps that installs it. It is a pure function: no I/O, no clock, no
// randomness, so the same config always gives the same plan (and the same
// plan hash, which lets a rerun resume only what it started).
//
// It must not execute anything; installer/run does, with executors from
// installer/steps.
package plan
