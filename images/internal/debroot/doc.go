// Package debroot makes a Debian root filesystem directory: debootstrap from
// a mirror, then apt-get installs packages inside it. Every step that mounts
// anything runs in its own private mount namespace, so mounts vanish with the
// process even when it is killed, and no service is started on the host
// (policy-rc.d refuses). Downloaded .deb files are kept in a cache directory
// shared by all builds. It does not decide what goes into an image.
package debroot
