// Package cpinventory is the day-2 pxe.Inventory: the boot servers of the
// control plane's leader ask it which machine a request comes from, and it
// answers from the replicated state (cluster/fsm) rather than from an
// install config file. A machine in the machines table boots the stored
// install config's OS with an Ignition config rendered once per machine (per
// boot server) by ignition.Render, carrying a fresh single-use join token of
// its role; unknown machines are recorded as discovered, rate limited. It
// lives under pxe/ because it is one of pxe's Inventory implementations,
// beside pxe/inventory (the install-time one); it reaches the control plane
// only through the small Cluster interface (the member's FSM and Raft), so
// it must not start servers, watch leadership or import cluster/member.
package cpinventory
