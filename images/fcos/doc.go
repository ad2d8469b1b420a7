// Package fcos knows Fedora CoreOS's stream metadata (stream.json: per
// architecture, the metal PXE kernel, initramfs and rootfs with their URLs
// and sha256) and brings those artifacts into the image store: from a
// directory the operator carried in on removable media (import), or over
// HTTP with resume and progress where a network exists (download). Every file
// is checked against the stream's sha256 before it enters the store; a
// mismatch is refused naming the file. It does not serve the artifacts.
package fcos
