// Package config owns the install config, schema version 1: the Go types,
// the strict YAML loader that remembers where every value came from, the
// defaults, and the one validator shared by the config file and the TUI.
//
// It reports every problem at once as a Diagnostic carrying FILE:LINE:COL,
// the field path, what is wrong and what to do. It must not touch the host
// (no network, no files other than the one it loads): checks that depend on
// the machine it runs on belong to installer/preflight.
package config
