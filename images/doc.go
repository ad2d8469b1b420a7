// Package images holds what every image sub-package shares: the names of the
// boot artifacts and the progress reports long work emits. The work itself
// lives below it: store (manifests, checksums, verification and the recipe
// cache), velaos (the vela-os recipe and build), nodeimage (the root
// filesystem every LXC node starts from) and fcos (Fedora CoreOS stream
// metadata, offline import and download). It must not serve anything over the
// network (that is pxe's job) nor know about install configs beyond names.
package images
