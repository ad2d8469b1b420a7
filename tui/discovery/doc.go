// Package discovery listens for machines that PXE-boot on the boot network
// while the wizard's machines screen is open. It runs pxe/dhcp in proxy mode
// with an inventory that knows no machine: every PXE client is recorded
// (MAC, SMBIOS UUID, firmware architecture, first seen) and nothing is
// answered, so it hands out no address and boots nothing whatever DHCP mode
// the install will use. It owns only that recording; the boot logic is
// pxe's.
package discovery
