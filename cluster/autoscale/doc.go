// Package autoscale decides when a tenant's cluster gets more nodes. The
// decision is a pure function of the measured state, the cluster's policy
// and the time (Decide): no I/O, deterministic, unit-tested; the leader's
// controller measures (from the nodes' Docker Engines), calls Decide every
// interval, asks the scheduler for the nodes and records an event with the
// figures for every decision that acted or wanted to act.
//
// It never removes a node: a cluster only shrinks on a tenant's request.
package autoscale
