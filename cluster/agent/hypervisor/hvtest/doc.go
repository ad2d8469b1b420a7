// Package hvtest starts a private libvirtd for integration tests and
// benchmarks, the way ../shared/MACHINE-NOTES.md found to work on a host with
// mixed cgroup v1/v2: the libvirt-qemu user exists, / is rshared, and virtlogd
// and libvirtd run in their own mount namespace without
// /sys/fs/cgroup/unified, with /run/libvirt, /etc/libvirt/lxc,
// /var/lib/libvirt and /var/log/libvirt bind-mounted from a directory the
// caller owns, so the daemon collides with no other libvirtd on the host and
// its socket is DIR/run/libvirt-sock. It stops only the processes it started,
// by PID. It is test support, never used by the product.
package hvtest
