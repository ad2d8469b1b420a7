// Package serve runs Vela's boot services together for one install config:
// DHCP (full or proxy, unless off), TFTP for the iPXE binaries, the HTTP boot
// server and IPv6 router advertisements, all on the boot network, under one
// context. It wires the packages of pxe/...; it holds no boot logic itself.
package serve
