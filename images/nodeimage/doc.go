// Package nodeimage builds the node image: the root filesystem directory
// every tenant node (an LXC domain) starts from -- Debian minimal, docker.io
// and /sbin/vela-node-init, which prepares /run, devices and a cgroup
// namespace and then runs dockerd with TLS. It is stored once per
// hypervisor as a tree artifact and shared read-only by all nodes (the agent
// mounts it as the lower layer of each node's overlay); it is never copied
// per node. Builds are keyed by recipe hash like vela-os. It does not start
// nodes (cluster/agent does).
package nodeimage
