// Package node turns a node's Spec into what libvirt needs on one hypervisor:
// the LXC domain XML (memory limit, vCPUs, static IPv4 on a bridge, user
// namespace idmap unless privileged), a per-node sparse ext4 disk image
// loop-mounted so the node's 20 GB are really enforced, a root filesystem
// made of the shared node image (read-only overlay lower) and an upper layer
// on that disk, the node's init program and its Docker TLS files; and the
// host side of tenant networks: bridges, isolation rules, and routes to the
// tenants' subnets on other hypervisors. It owns the node's directory under
// the agent's state dir, those bridges, chains and routes, and nothing else:
// it does not talk to libvirt (cluster/agent/hypervisor) nor decide which
// nodes exist (cluster/agent).
package node
