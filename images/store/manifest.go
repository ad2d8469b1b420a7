package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"time"
)

// ManifestFile is the name of the manifest in every version directory.
const ManifestFile = "manifest.json"

// Artifact kinds.
const (
	KindFile = "file" // one regular file; SHA256 is its content hash
	KindTree = "tree" // a directory; SHA256 is the hash of its listing (see tree.go)
)

// Artifact is one file or directory of an image version.
type Artifact struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Manifest describes one version of one image.
type Manifest struct {
	Image     string            `json:"image"`
	Version   string            `json:"version"`
	Source    string            `json:"source"`           // e.g. "built from debian bookworm at http://deb.debian.org/debian"
	Recipe    string            `json:"recipe,omitempty"` // hex sha256 of the recipe it was built from
	Created   time.Time         `json:"created"`
	Artifacts []Artifact        `json:"artifacts"`
	Meta      map[string]string `json:"meta,omitempty"` // e.g. kernel_version
}

// Artifact returns the artifact named name.
func (m Manifest) Artifact(name string) (Artifact, bool) {
	for _, a := range m.Artifacts {
		if a.Name == name {
			return a, true
		}
	}
	return Artifact{}, false
}

var (
	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	hexRE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ParseManifest decodes and checks a manifest; unknown fields are errors.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("decode manifest: %w", err)
	}
	if dec.More() {
		return Manifest{}, fmt.Errorf("decode manifest: trailing data after the JSON object")
	}
	return m, m.Validate()
}

// Validate checks names, kinds and hashes so a manifest cannot point outside
// its version directory.
func (m Manifest) Validate() error {
	if !nameRE.MatchString(m.Image) {
		return fmt.Errorf("manifest: image %q is not a valid name (lowercase letters, digits, . _ -)", m.Image)
	}
	if !nameRE.MatchString(m.Version) || m.Version == "current" {
		return fmt.Errorf("manifest of %s: version %q is not a valid name", m.Image, m.Version)
	}
	if m.Recipe != "" && !hexRE.MatchString(m.Recipe) {
		return fmt.Errorf("manifest of %s %s: recipe %q is not a hex sha256", m.Image, m.Version, m.Recipe)
	}
	if len(m.Artifacts) == 0 {
		return fmt.Errorf("manifest of %s %s: no artifacts", m.Image, m.Version)
	}
	seen := map[string]bool{}
	for _, a := range m.Artifacts {
		switch {
		case !nameRE.MatchString(a.Name) || a.Name == ManifestFile || a.Name == "." || a.Name == "..":
			return fmt.Errorf("manifest of %s %s: artifact name %q is not valid", m.Image, m.Version, a.Name)
		case seen[a.Name]:
			return fmt.Errorf("manifest of %s %s: artifact %q listed twice", m.Image, m.Version, a.Name)
		case a.Kind != KindFile && a.Kind != KindTree:
			return fmt.Errorf("manifest of %s %s: artifact %q has kind %q, want file or tree", m.Image, m.Version, a.Name, a.Kind)
		case !hexRE.MatchString(a.SHA256):
			return fmt.Errorf("manifest of %s %s: artifact %q sha256 %q is not 64 hex digits", m.Image, m.Version, a.Name, a.SHA256)
		case a.Size < 0:
			return fmt.Errorf("manifest of %s %s: artifact %q has negative size", m.Image, m.Version, a.Name)
		}
		seen[a.Name] = true
	}
	return nil
}

// Marshal encodes the manifest as indented JSON with a final newline.
func (m Manifest) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
