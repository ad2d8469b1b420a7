package libvirtimg

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// ImageConfig is what the docker-archive says about the image.
type ImageConfig struct {
	Ref     string   // repository:tag, e.g. localhost/vela-libvirtd:latest
	Cmd     []string // the default command
	Env     []string // KEY=value
	Labels  map[string]string
	Created time.Time // image creation time (UTC)
}

// Layer is one uncompressed layer tarball to put in an archive.
type Layer struct {
	R      io.Reader
	Size   int64
	DiffID string // "sha256:<hex>" of the uncompressed tar
}

// Archive says what WriteArchive wrote.
type Archive struct {
	ImageID string // "sha256:<hex>" of the config JSON: what `docker images --no-trunc` shows
	DiffID  string
}

// manifestEntry is one element of a docker-archive's manifest.json.
type manifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

type imageJSON struct {
	Architecture string          `json:"architecture"`
	OS           string          `json:"os"`
	Created      time.Time       `json:"created"`
	Config       containerConfig `json:"config"`
	RootFS       rootFS          `json:"rootfs"`
	History      []history       `json:"history"`
}

type containerConfig struct {
	Env    []string          `json:"Env,omitempty"`
	Cmd    []string          `json:"Cmd,omitempty"`
	Labels map[string]string `json:"Labels,omitempty"`
}

type rootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

type history struct {
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
}

// WriteArchive writes a docker-archive (the `docker save` format, which
// `docker load` and `podman load` read) of a one-layer linux/amd64 image to
// w: LAYER/layer.tar, CONFIG.json, manifest.json and repositories, where
// LAYER and CONFIG are the hex sha256 of the layer and of the config JSON.
// The same inputs give the same bytes.
func WriteArchive(w io.Writer, c ImageConfig, l Layer) (Archive, error) {
	repo, tag, err := splitRef(c.Ref)
	if err != nil {
		return Archive{}, err
	}
	layerHex, ok := strings.CutPrefix(l.DiffID, "sha256:")
	if !ok || len(layerHex) != 64 {
		return Archive{}, fmt.Errorf("docker-archive of %s: layer diff ID %q is not sha256:<64 hex>", c.Ref, l.DiffID)
	}
	created := c.Created.UTC().Truncate(time.Second)
	cfg, err := json.Marshal(imageJSON{
		Architecture: "amd64", OS: "linux", Created: created,
		Config:  containerConfig{Env: c.Env, Cmd: c.Cmd, Labels: c.Labels},
		RootFS:  rootFS{Type: "layers", DiffIDs: []string{l.DiffID}},
		History: []history{{Created: created, CreatedBy: "vela images build libvirtd (Debian packages, debootstrap)"}},
	})
	if err != nil {
		return Archive{}, err
	}
	sum := sha256.Sum256(cfg)
	cfgHex := hex.EncodeToString(sum[:])
	layerName := layerHex + "/layer.tar"
	man, err := json.Marshal([]manifestEntry{{Config: cfgHex + ".json", RepoTags: []string{repo + ":" + tag}, Layers: []string{layerName}}})
	if err != nil {
		return Archive{}, err
	}
	repos, err := json.Marshal(map[string]map[string]string{repo: {tag: layerHex}})
	if err != nil {
		return Archive{}, err
	}
	tw := tar.NewWriter(w)
	hdr := func(name string, typ byte, mode, size int64) *tar.Header {
		return &tar.Header{Name: name, Typeflag: typ, Mode: mode, Size: size, ModTime: created, Format: tar.FormatPAX}
	}
	if err := tw.WriteHeader(hdr(layerHex+"/", tar.TypeDir, 0o755, 0)); err != nil {
		return Archive{}, err
	}
	if err := tw.WriteHeader(hdr(layerName, tar.TypeReg, 0o644, l.Size)); err != nil {
		return Archive{}, err
	}
	if n, err := io.Copy(tw, l.R); err != nil {
		return Archive{}, fmt.Errorf("docker-archive of %s: copy layer (%d of %d bytes): %w", c.Ref, n, l.Size, err)
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{cfgHex + ".json", cfg}, {"manifest.json", man}, {"repositories", repos}} {
		if err := tw.WriteHeader(hdr(f.name, tar.TypeReg, 0o644, int64(len(f.b)))); err != nil {
			return Archive{}, err
		}
		if _, err := tw.Write(f.b); err != nil {
			return Archive{}, err
		}
	}
	if err := tw.Close(); err != nil {
		return Archive{}, fmt.Errorf("docker-archive of %s: %w", c.Ref, err)
	}
	return Archive{ImageID: "sha256:" + cfgHex, DiffID: l.DiffID}, nil
}

// splitRef splits repository:tag; the tag is after the last colon that
// follows the last slash (a registry may carry a port).
func splitRef(ref string) (repo, tag string, err error) {
	i := strings.LastIndex(ref, ":")
	if i <= strings.LastIndex(ref, "/") || i == len(ref)-1 || i == 0 || ref != strings.ToLower(ref[:i])+ref[i:] {
		return "", "", fmt.Errorf("image reference %q: want lowercase repository:tag, e.g. localhost/vela-libvirtd:latest", ref)
	}
	return ref[:i], ref[i+1:], nil
}
