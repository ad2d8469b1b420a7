// Package fsm owns Vela's replicated state: the types (members, machines,
// hypervisors, tenants, API tokens, clusters, nodes, join tokens, events),
// the command encoding (a type byte plus a JSON body; types are appended and
// never renumbered; the IgnoreUnknown bit lets older members skip a type they
// do not know) and the raft.FSM that applies them. Apply is deterministic:
// times, IDs and secrets are stamped by the proposer before a command is
// proposed, never inside Apply. Restore builds a new State and swaps it in
// under the lock. This package must not do I/O beyond the snapshot stream,
// read clocks or talk to Raft; it is usable and testable without Raft.
package fsm
