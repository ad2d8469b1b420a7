package fcos

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/store"
)

// StreamFile is the stream metadata's name in an import directory.
const StreamFile = "stream.json"

// Store is what importing needs of the image store.
type Store interface {
	Lock(image string) (func(), error)
	Stage(image string) (*store.Staging, error)
}

// Config configures an Importer.
type Config struct {
	Store    Store
	Arch     string // default x86_64
	Logger   *slog.Logger
	Progress images.ProgressFunc
}

// Importer brings Fedora CoreOS artifacts into the store.
type Importer struct{ cfg Config }

// New returns an Importer.
func New(cfg Config) *Importer {
	if cfg.Arch == "" {
		cfg.Arch = "x86_64"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Importer{cfg: cfg}
}

// ImportDir imports the release described by streamPath (default
// DIR/stream.json) from files in dir named as in the stream's URLs. Every
// file must be present and match its sha256, or nothing is imported.
func (im *Importer) ImportDir(ctx context.Context, dir, streamPath string) (store.Manifest, error) {
	if streamPath == "" {
		streamPath = filepath.Join(dir, StreamFile)
	}
	b, err := os.ReadFile(streamPath)
	if errors.Is(err, fs.ErrNotExist) {
		return store.Manifest{}, fmt.Errorf("import fcos %s: no stream metadata at %s; copy the stream's JSON (e.g. https://builds.coreos.fedoraproject.org/streams/stable.json) there or pass --stream FILE", dir, streamPath)
	}
	if err != nil {
		return store.Manifest{}, fmt.Errorf("import fcos: %w", err)
	}
	pxe, err := ParseStream(b, im.cfg.Arch)
	if err != nil {
		return store.Manifest{}, fmt.Errorf("import fcos %s: %w", streamPath, err)
	}
	var missing []string
	for _, f := range pxe.Files {
		if _, err := os.Stat(filepath.Join(dir, f.Base)); err != nil {
			missing = append(missing, fmt.Sprintf("%s (%s)", f.Base, f.Name))
		}
	}
	if len(missing) > 0 {
		return store.Manifest{}, fmt.Errorf("import fcos %s: the directory is missing %v of release %s; copy them from %s's pxe artifacts", dir, missing, pxe.Release, pxe.Stream)
	}
	return im.commit(ctx, pxe, func(f File) string { return filepath.Join(dir, f.Base) },
		fmt.Sprintf("Fedora CoreOS %s %s, imported from %s", pxe.Stream, pxe.Release, dir))
}

// commit copies each file into a staging version while hashing it, refuses
// any mismatch, and commits the version as current fcos.
func (im *Importer) commit(ctx context.Context, pxe PXE, src func(File) string, source string) (store.Manifest, error) {
	unlock, err := im.cfg.Store.Lock(images.FCOS)
	if err != nil {
		return store.Manifest{}, err
	}
	defer unlock()
	st, err := im.cfg.Store.Stage(images.FCOS)
	if err != nil {
		return store.Manifest{}, err
	}
	defer st.Abort()
	var names []string
	for _, f := range pxe.Files {
		p := src(f)
		sum, err := copyHash(ctx, p, filepath.Join(st.Dir(), f.Name), func(n, total int64) {
			im.cfg.Progress.Report(images.Progress{Image: images.FCOS, Step: "import " + f.Name, Done: n, Total: total, Unit: "bytes"})
		})
		if err != nil {
			return store.Manifest{}, fmt.Errorf("import fcos %s: %w", f.Name, err)
		}
		if sum != f.SHA256 {
			return store.Manifest{}, fmt.Errorf("import fcos: %s: sha256 %s does not match the stream's %s (corrupted or truncated copy, or a different release); nothing was imported", p, sum, f.SHA256)
		}
		names = append(names, f.Name)
	}
	m := store.Manifest{Version: pxe.Release, Source: source,
		Meta: map[string]string{"stream": pxe.Stream, "arch": im.cfg.Arch}}
	for _, f := range pxe.Files {
		m.Meta[f.Name+"_url"] = f.Location
	}
	return st.Commit(ctx, m, names, true)
}

func copyHash(ctx context.Context, src, dst string, progress func(n, total int64)) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return "", err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			out.Close()
			return "", err
		}
		k, rerr := in.Read(buf)
		if k > 0 {
			h.Write(buf[:k])
			if _, err := out.Write(buf[:k]); err != nil {
				out.Close()
				return "", err
			}
			n += int64(k)
			progress(n, info.Size())
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			out.Close()
			return "", rerr
		}
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
