// Package lab makes one host stand in for a rack: a private bridge for the
// boot network and qemu VMs on it that network-boot like bare metal. It
// records everything it creates in the state directory so that Down removes
// exactly that, and never an interface, process or rule it did not make.
//
// It does not boot, configure or join anything itself: the installer's
// normal plan does that to the VMs as it would to real machines.
package lab
