// Package pxe owns network boot: it declares what the boot servers need to
// know about machines (the Inventory seam, the boot states they report) and
// nothing else. The servers live in sub-packages: dhcp (full and proxy DHCP),
// tftp (read-only TFTP for the iPXE binaries), httpboot (iPXE scripts, images,
// per-machine Ignition, reports, metrics), ra (IPv6 router advertisements so
// iPXE does not stall), inventory (the Inventory backed by an install config
// plus the discovered-machines record) and serve (runs them all together).
// pxe must not import installer/...: states leave through a callback.
package pxe
