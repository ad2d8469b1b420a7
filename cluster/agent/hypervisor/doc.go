// Package hypervisor speaks to libvirtd over its RPC socket
// (github.com/digitalocean/go-libvirt) for one driver URI, normally
// lxc:///system: it defines, starts, stops, undefines, lists and describes
// domains, reads the host's capacity, puts a deadline on every call and
// reconnects by itself when libvirtd restarts. It treats domain XML as opaque
// text: what a node's domain looks like is decided by cluster/agent/node, and
// what should run is decided by cluster/agent. It never touches files,
// mounts or networks of the host.
package hypervisor
