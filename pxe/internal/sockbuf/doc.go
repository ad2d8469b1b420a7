// Package sockbuf enlarges the receive buffer of the boot servers' UDP
// sockets, so that a crowd of machines powered on at once (hundreds of DHCP
// DISCOVERs or TFTP requests in the same millisecond) is queued, not dropped.
package sockbuf
