// Package libvirtimg builds the libvirtd container image that Fedora CoreOS
// hypervisors load with `podman load` and run as vela-libvirtd.service:
// Debian 12's libvirtd with the LXC driver, virtlogd, virsh, iproute2 and
// iptables, started in the foreground by /usr/local/sbin/vela-libvirtd. It
// writes the image as a docker-archive tarball (one layer, tagged
// localhost/vela-libvirtd:latest) by hand, so no container engine is needed
// to build it, and stores it as a file artifact keyed by recipe hash like
// the other images. It does not run the image (the Ignition unit does) and
// is not used by vela-os, which has libvirtd installed.
package libvirtimg
