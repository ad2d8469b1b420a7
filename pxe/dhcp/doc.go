// Package dhcp is Vela's DHCPv4 server (github.com/insomniacslk/dhcp). In
// full mode it is the only DHCP server of the boot network: a pool plus static
// reservations by MAC, leases persisted in the state directory. In proxy mode
// it sits beside another DHCP server and only adds boot options for PXE
// clients (ports 67 and 4011), never handing out an address. It tells the boot
// stage apart (firmware PXE by option 60/93, iPXE by user class "iPXE", an OS
// otherwise) and hands each the right next step. It never serves files.
package dhcp
