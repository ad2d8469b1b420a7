package fcos

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"regexp"

	"github.com/vela-appliance/vela/images"
)

// Stream is the part of a Fedora CoreOS stream.json Vela reads.
type Stream struct {
	Stream        string                  `json:"stream"`
	Architectures map[string]Architecture `json:"architectures"`
}

// Architecture holds the artifacts of one architecture.
type Architecture struct {
	Artifacts map[string]Platform `json:"artifacts"`
}

// Platform is one platform's release (Vela uses "metal").
type Platform struct {
	Release string                       `json:"release"`
	Formats map[string]map[string]Remote `json:"formats"`
}

// Remote is one downloadable file.
type Remote struct {
	Location  string `json:"location"`
	Signature string `json:"signature,omitempty"`
	SHA256    string `json:"sha256"`
}

// File is one PXE artifact resolved from a stream.
type File struct {
	Name     string // kernel, initramfs, rootfs
	Location string // URL
	Base     string // file name from the URL
	SHA256   string
}

// PXE is the three PXE artifacts of one release.
type PXE struct {
	Stream  string
	Release string
	Files   []File // kernel, initramfs, rootfs in that order
}

var (
	sha256RE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	releaseRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]{0,62}$`)
	baseRE    = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._+-]{0,200}$`)
)

// ParseStream decodes stream.json and returns the metal PXE artifacts of
// arch (e.g. x86_64), checking every field Vela relies on.
func ParseStream(b []byte, arch string) (PXE, error) {
	var s Stream
	if err := json.Unmarshal(b, &s); err != nil {
		return PXE{}, fmt.Errorf("stream metadata: %w", err)
	}
	a, ok := s.Architectures[arch]
	if !ok {
		return PXE{}, fmt.Errorf("stream metadata %q: no architecture %s", s.Stream, arch)
	}
	metal, ok := a.Artifacts["metal"]
	if !ok {
		return PXE{}, fmt.Errorf("stream metadata %q: no metal artifacts for %s", s.Stream, arch)
	}
	if !releaseRE.MatchString(metal.Release) {
		return PXE{}, fmt.Errorf("stream metadata %q: release %q is not a valid version", s.Stream, metal.Release)
	}
	pxe, ok := metal.Formats["pxe"]
	if !ok {
		return PXE{}, fmt.Errorf("stream metadata %q: release %s has no pxe format", s.Stream, metal.Release)
	}
	out := PXE{Stream: s.Stream, Release: metal.Release}
	for _, name := range []string{images.Kernel, images.Initramfs, images.Rootfs} {
		r, ok := pxe[name]
		if !ok {
			return PXE{}, fmt.Errorf("stream metadata %q: release %s has no pxe %s", s.Stream, metal.Release, name)
		}
		if !sha256RE.MatchString(r.SHA256) {
			return PXE{}, fmt.Errorf("stream metadata %q: pxe %s sha256 %q is not 64 lowercase hex digits", s.Stream, name, r.SHA256)
		}
		u, err := url.Parse(r.Location)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return PXE{}, fmt.Errorf("stream metadata %q: pxe %s location %q is not an http(s) URL", s.Stream, name, r.Location)
		}
		base := path.Base(u.Path)
		if !baseRE.MatchString(base) {
			return PXE{}, fmt.Errorf("stream metadata %q: pxe %s file name %q is not valid", s.Stream, name, base)
		}
		out.Files = append(out.Files, File{Name: name, Location: r.Location, Base: base, SHA256: r.SHA256})
	}
	return out, nil
}
