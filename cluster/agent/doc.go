// Package agent is the hypervisor agent: it registers this machine's
// capacity with the control plane, heartbeats its usage, and reconciles the
// nodes the control plane wants on this hypervisor with the LXC domains
// libvirt runs, creating, starting, adopting, stopping and deleting them and
// reporting each node's state (creating, running, failed with a reason,
// deleted). It reaches the control plane only through the ControlPlane
// interface, libvirt only through Hypervisor (cluster/agent/hypervisor) and
// the host's files, mounts and bridges only through Nodes
// (cluster/agent/node). APIControlPlane is the ControlPlane over the
// control plane's API (cluster/client, with the agent certificate that
// Credentials obtains once with a join token); FileControlPlane is the
// standalone one. It never decides where a node goes or which address it
// gets: the control plane does.
package agent
