// Package e2e runs the whole Vela stack on one host for end-to-end tests
// and benchmarks: a real member (Raft on disk, the API over TLS, the
// controller), a real hypervisor agent joined to it with a join token,
// against a real libvirtd (LXC) and the node manager, so that tenant
// clusters are real Docker Swarms of LXC nodes. It only wires existing
// packages; it holds no logic of the product. It must not be imported by
// the product: it turns off capacity checks a real hypervisor has (see
// Config.CPUs) and uses the host's iptables and routes, so its callers hold
// the host routes lock (LockHostRoutes) for as long as a Stack runs.
package e2e
