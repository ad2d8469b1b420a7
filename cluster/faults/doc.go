// Package faults is the control plane's fault harness: it runs real
// `vela server` processes on loopback addresses (127.0.0.11 and up), drives
// concurrent API clients doing register reads and writes while it kills
// (SIGKILL), pauses (SIGSTOP/SIGCONT) and partitions (iptables DROP between
// member addresses) a minority of members, records every operation with its
// invoke and return times, and checks the history with porcupine for
// linearizability and every acknowledged write for presence after healing.
// It stops every process it started by PID and removes exactly the firewall
// rules it added. The fixed-seed short run is a test; bench/controlplane
// runs the long one. Test support only: nothing in the product imports it.
package faults
