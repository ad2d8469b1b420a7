package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vela-appliance/vela/images"
)

// Problem is one artifact that failed verification.
type Problem struct {
	Image, Version, Artifact string
	Path                     string // the file (or tree entry) at fault
	Reason                   string
}

func (p Problem) Error() string {
	return fmt.Sprintf("%s %s: %s: %s", p.Image, p.Version, p.Path, p.Reason)
}

// VerifyError lists every problem found; it is returned when any exists.
type VerifyError struct{ Problems []Problem }

func (e *VerifyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d artifact(s) failed verification; rebuild or re-import them (vela images build|import):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Verify rechecks the size and sha256 of every artifact of one version
// against its manifest and returns a *VerifyError naming each bad file.
func (s *Store) Verify(ctx context.Context, image, version string, progress images.ProgressFunc) error {
	m, err := s.Manifest(image, version)
	if err != nil {
		return err
	}
	var probs []Problem
	for _, a := range m.Artifacts {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := filepath.Join(s.VersionDir(image, m.Version), a.Name)
		report := func(n int64) {
			progress.Report(images.Progress{Image: image, Step: "verify " + a.Name, Done: n, Total: a.Size, Unit: "bytes"})
		}
		for _, reason := range checkArtifact(ctx, p, a, report) {
			probs = append(probs, Problem{Image: image, Version: m.Version, Artifact: a.Name, Path: reason.path, Reason: reason.why})
		}
	}
	if len(probs) > 0 {
		return &VerifyError{Problems: probs}
	}
	return nil
}

// VerifyAll verifies every version in the store.
func (s *Store) VerifyAll(ctx context.Context, progress images.ProgressFunc) ([]Manifest, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	var probs []Problem
	for _, m := range all {
		err := s.Verify(ctx, m.Image, m.Version, progress)
		if ve, ok := err.(*VerifyError); ok {
			probs = append(probs, ve.Problems...)
		} else if err != nil {
			return all, err
		}
	}
	if len(probs) > 0 {
		return all, &VerifyError{Problems: probs}
	}
	return all, nil
}

type finding struct{ path, why string }

func checkArtifact(ctx context.Context, p string, a Artifact, onBytes func(int64)) []finding {
	info, err := os.Lstat(p)
	if err != nil {
		return []finding{{p, "missing: " + err.Error()}}
	}
	if a.Kind == KindTree {
		return checkTree(ctx, p, a, onBytes)
	}
	if !info.Mode().IsRegular() {
		return []finding{{p, "not a regular file"}}
	}
	if info.Size() < a.Size {
		return []finding{{p, fmt.Sprintf("truncated: %d bytes, manifest says %d", info.Size(), a.Size)}}
	}
	if info.Size() > a.Size {
		return []finding{{p, fmt.Sprintf("wrong size: %d bytes, manifest says %d", info.Size(), a.Size)}}
	}
	sum, _, err := HashFile(ctx, p, onBytes)
	if err != nil {
		return []finding{{p, err.Error()}}
	}
	if sum != a.SHA256 {
		return []finding{{p, fmt.Sprintf("corrupted: sha256 %s, manifest says %s", sum, a.SHA256)}}
	}
	return nil
}

func checkTree(ctx context.Context, p string, a Artifact, onBytes func(int64)) []finding {
	want, err := os.ReadFile(p + ".list")
	if err != nil {
		return []finding{{p + ".list", "listing missing: " + err.Error()}}
	}
	var out []finding
	if HashListing(want) != a.SHA256 {
		out = append(out, finding{p + ".list", "listing corrupted: its sha256 does not match the manifest"})
	}
	entries, _, err := ListTree(ctx, p, onBytes)
	if err != nil {
		return append(out, finding{p, err.Error()})
	}
	got := EncodeListing(entries)
	if !bytes.Equal(got, want) {
		for _, d := range DiffListings(want, got, 20) {
			out = append(out, finding{filepath.Join(p, trimQuotes(d)), "tree entry differs"})
		}
	}
	return out
}

func trimQuotes(d string) string {
	if i := strings.LastIndex(d, ": "); i > 0 && strings.HasPrefix(d, "\"") {
		return strings.Trim(d[:i], "\"") + " (" + d[i+2:] + ")"
	}
	return d
}
