// Package bootlab boots an image under qemu for tests and benchmarks: a
// loopback HTTP server standing in for the boot server (artifacts, one
// Ignition config, the /report endpoint and an /evidence endpoint test units
// post to) and a qemu VM started with -kernel/-initrd whose only network is
// user-mode networking with restrict=on, where guest address 10.0.2.100:80
// is forwarded to that loopback server. The guest can reach nothing else.
// A VM boots through SeaBIOS or, with VMConfig.Firmware = UEFI, through
// OVMF (Debian's ovmf package) with its own copy of the UEFI variables.
package bootlab
