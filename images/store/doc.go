// Package store owns the local image store (/var/lib/vela/images by
// default): one directory per image version holding its artifacts and a
// manifest.json with each artifact's sha256 and size, the source and the
// recipe hash it was built from. It stages new versions beside the live ones
// and renames them in whole, so an interrupted build never leaves a partial
// version; it finds a version by recipe hash (the build cache) and rechecks
// every hash on demand, naming the file that does not match. It knows nothing
// about how artifacts are built or downloaded.
package store
