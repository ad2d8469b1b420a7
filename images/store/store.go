package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// ErrNotFound is returned when an image (or version) is not in the store.
var ErrNotFound = errors.New("not in the image store")

// Config configures a Store.
type Config struct {
	Dir    string // root of the store, e.g. /var/lib/vela/images
	Logger *slog.Logger
}

// Store is the local image store. Layout:
//
//	DIR/IMAGE/VERSION/manifest.json   the manifest
//	DIR/IMAGE/VERSION/ARTIFACT        a file artifact, or a directory (tree)
//	DIR/IMAGE/VERSION/ARTIFACT.list   the listing of a tree artifact
//	DIR/IMAGE/current -> VERSION      the version the boot server serves
//	DIR/.staging-IMAGE-RANDOM/        a version being written (removed on failure)
type Store struct {
	dir string
	log *slog.Logger
}

// New opens (creating if needed) the store at cfg.Dir.
func New(cfg Config) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("image store: no directory given")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("image store %s: %w; pass --store DIR to use another directory", cfg.Dir, err)
	}
	return &Store{dir: cfg.Dir, log: cfg.Logger}, nil
}

// Dir is the store's root.
func (s *Store) Dir() string { return s.dir }

// VersionDir is where one version's artifacts live.
func (s *Store) VersionDir(image, version string) string {
	return filepath.Join(s.dir, image, version)
}

// Manifest reads the manifest of one version; version "" or "current" means
// the current version.
func (s *Store) Manifest(image, version string) (Manifest, error) {
	if version == "" || version == "current" {
		v, err := s.Current(image)
		if err != nil {
			return Manifest{}, err
		}
		version = v
	}
	b, err := os.ReadFile(filepath.Join(s.VersionDir(image, version), ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, fmt.Errorf("%s %s: %w", image, version, ErrNotFound)
	}
	if err != nil {
		return Manifest{}, err
	}
	m, err := ParseManifest(b)
	if err != nil {
		return Manifest{}, fmt.Errorf("%s: %w", filepath.Join(s.VersionDir(image, version), ManifestFile), err)
	}
	if m.Image != image || m.Version != version {
		return Manifest{}, fmt.Errorf("%s: manifest says %s %s; the directory was moved or edited by hand", s.VersionDir(image, version), m.Image, m.Version)
	}
	return m, nil
}

// Current is the version the current link of image points to.
func (s *Store) Current(image string) (string, error) {
	v, err := os.Readlink(filepath.Join(s.dir, image, "current"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s: %w; build or import it first (vela images build|import)", image, ErrNotFound)
	}
	return v, err
}

// Path is the path of an artifact of the current version of image, for the
// boot server's /images/{image}/{artifact}.
func (s *Store) Path(image, artifact string) (string, error) {
	m, err := s.Manifest(image, "")
	if err != nil {
		return "", err
	}
	if _, ok := m.Artifact(artifact); !ok {
		return "", fmt.Errorf("%s %s has no artifact %q: %w", image, m.Version, artifact, ErrNotFound)
	}
	return filepath.Join(s.VersionDir(image, m.Version), artifact), nil
}

// FindRecipe returns the version of image built from recipe, if any. It is
// the build cache: a build whose recipe hash is found does nothing.
func (s *Store) FindRecipe(image, recipe string) (Manifest, bool, error) {
	all, err := s.List()
	if err != nil {
		return Manifest{}, false, err
	}
	for _, m := range all {
		if m.Image == image && m.Recipe == recipe {
			return m, true, nil
		}
	}
	return Manifest{}, false, nil
}

// List returns every version's manifest, sorted by image then creation time.
// Unreadable manifests are logged and skipped (verify reports them).
func (s *Store) List() ([]Manifest, error) {
	images, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var out []Manifest
	for _, im := range images {
		if !im.IsDir() || strings.HasPrefix(im.Name(), ".") {
			continue
		}
		versions, err := os.ReadDir(filepath.Join(s.dir, im.Name()))
		if err != nil {
			return nil, err
		}
		for _, v := range versions {
			if !v.IsDir() {
				continue
			}
			m, err := s.Manifest(im.Name(), v.Name())
			if err != nil {
				s.log.Warn("skipping unreadable image version", "image", im.Name(), "version", v.Name(), "err", err)
				continue
			}
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Image != out[j].Image {
			return out[i].Image < out[j].Image
		}
		return out[i].Created.Before(out[j].Created)
	})
	return out, nil
}

// Lock takes the store's exclusive lock for image (one build or import per
// image at a time) and returns its release function.
func (s *Store) Lock(image string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.dir, ".lock-"+image), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("image %s: another build or import holds %s; wait for it to finish", image, f.Name())
	}
	return func() { f.Close() }, nil
}

// Stage starts a new version of image in a staging directory. Staging
// directories left by an interrupted earlier run of the same image are
// removed first; the caller must hold Lock(image).
func (s *Store) Stage(image string) (*Staging, error) {
	if !nameRE.MatchString(image) {
		return nil, fmt.Errorf("image name %q is not valid", image)
	}
	old, _ := filepath.Glob(filepath.Join(s.dir, ".staging-"+image+"-*"))
	for _, o := range old {
		s.log.Info("removing partial output of an interrupted run", "dir", o)
		if err := os.RemoveAll(o); err != nil {
			return nil, fmt.Errorf("remove partial output %s: %w", o, err)
		}
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	dir := filepath.Join(s.dir, ".staging-"+image+"-"+hex.EncodeToString(r[:]))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("stage %s: %w", image, err)
	}
	return &Staging{s: s, image: image, dir: dir}, nil
}

// Staging is a version being written. Write artifacts under Dir(), then
// Commit or Abort; Abort after Commit does nothing, so `defer st.Abort()`.
type Staging struct {
	s     *Store
	image string
	dir   string
	done  bool
}

// Dir is where the caller writes artifacts (file or directory per name).
func (st *Staging) Dir() string { return st.dir }

// Abort removes the staging directory and everything in it.
func (st *Staging) Abort() {
	if st.done {
		return
	}
	st.done = true
	if err := os.RemoveAll(st.dir); err != nil {
		st.s.log.Error("remove staging directory", "dir", st.dir, "err", err)
	}
}

// Commit hashes the named artifacts, writes the manifest and moves the
// version into place, making it current when makeCurrent is set.
func (st *Staging) Commit(ctx context.Context, m Manifest, names []string, makeCurrent bool) (Manifest, error) {
	if st.done {
		return Manifest{}, errors.New("staging already committed or aborted")
	}
	m.Image = st.image
	if m.Created.IsZero() {
		m.Created = time.Now().UTC().Truncate(time.Second)
	}
	m.Artifacts = nil
	for _, n := range names {
		a, err := hashArtifact(ctx, st.dir, n)
		if err != nil {
			return Manifest{}, fmt.Errorf("%s %s: %w", st.image, m.Version, err)
		}
		m.Artifacts = append(m.Artifacts, a)
	}
	if err := m.Validate(); err != nil {
		return Manifest{}, err
	}
	b, err := m.Marshal()
	if err != nil {
		return Manifest{}, err
	}
	if err := os.WriteFile(filepath.Join(st.dir, ManifestFile), b, 0o644); err != nil {
		return Manifest{}, fmt.Errorf("write manifest of %s %s: %w", st.image, m.Version, err)
	}
	if err := syncDir(st.dir); err != nil {
		return Manifest{}, err
	}
	final := st.s.VersionDir(st.image, m.Version)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return Manifest{}, err
	}
	if err := os.RemoveAll(final); err != nil {
		return Manifest{}, fmt.Errorf("replace %s: %w", final, err)
	}
	if err := os.Rename(st.dir, final); err != nil {
		return Manifest{}, fmt.Errorf("move %s into place: %w", st.image, err)
	}
	st.done = true
	if makeCurrent {
		if err := st.s.SetCurrent(st.image, m.Version); err != nil {
			return Manifest{}, err
		}
	}
	return m, nil
}

// SetCurrent points image's current link at version, atomically.
func (s *Store) SetCurrent(image, version string) error {
	if _, err := s.Manifest(image, version); err != nil {
		return err
	}
	tmp := filepath.Join(s.dir, image, ".current.tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(version, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.dir, image, "current"))
}

func hashArtifact(ctx context.Context, dir, name string) (Artifact, error) {
	p := filepath.Join(dir, name)
	info, err := os.Lstat(p)
	if err != nil {
		return Artifact{}, fmt.Errorf("artifact %s: %w", name, err)
	}
	switch {
	case info.Mode().IsRegular():
		sum, n, err := HashFile(ctx, p, nil)
		return Artifact{Name: name, Kind: KindFile, SHA256: sum, Size: n}, err
	case info.IsDir():
		entries, total, err := ListTree(ctx, p, nil)
		if err != nil {
			return Artifact{}, err
		}
		listing := EncodeListing(entries)
		if err := os.WriteFile(p+".list", listing, 0o644); err != nil {
			return Artifact{}, err
		}
		return Artifact{Name: name, Kind: KindTree, SHA256: HashListing(listing), Size: total}, nil
	}
	return Artifact{}, fmt.Errorf("artifact %s is neither a regular file nor a directory", name)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Prune removes the oldest versions of image beyond keep, never the current
// one, and returns the versions removed.
func (s *Store) Prune(image string, keep int) ([]string, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	cur, _ := s.Current(image)
	var vs []Manifest
	for _, m := range all {
		if m.Image == image {
			vs = append(vs, m)
		}
	}
	var removed []string
	for i := 0; len(vs)-i > keep; i++ { // List sorts oldest first
		if vs[i].Version == cur {
			continue
		}
		if err := os.RemoveAll(s.VersionDir(image, vs[i].Version)); err != nil {
			return removed, fmt.Errorf("prune %s %s: %w", image, vs[i].Version, err)
		}
		removed = append(removed, vs[i].Version)
	}
	return removed, nil
}
