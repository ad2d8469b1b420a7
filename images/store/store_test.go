package store

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/images"
)

const recipeA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// commitTestVersion stages an image with a kernel file and a rootfs tree.
func commitTestVersion(t *testing.T, s *Store, version string) Manifest {
	t.Helper()
	st, err := s.Stage("vela-os")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Abort()
	write(t, filepath.Join(st.Dir(), "kernel"), "kernel bytes")
	write(t, filepath.Join(st.Dir(), "tree", "etc", "hostname"), "node\n")
	write(t, filepath.Join(st.Dir(), "tree", "usr", "bin", "x"), "#!/bin/sh\n")
	if err := os.Symlink("usr/bin", filepath.Join(st.Dir(), "tree", "bin")); err != nil {
		t.Fatal(err)
	}
	m, err := st.Commit(context.Background(), Manifest{Version: version, Source: "test", Recipe: recipeA,
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, []string{"kernel", "tree"}, true)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCommitListPath(t *testing.T) {
	s := newStore(t)
	m := commitTestVersion(t, s, "v1")
	// sha256 of "kernel bytes".
	want := []Artifact{{Name: "kernel", Kind: KindFile, SHA256: "8daf3e4f39d310222b89e05b97f1aa56319811c728a147e8c6c86448f534194f", Size: 12}}
	if diff := cmp.Diff(want, m.Artifacts[:1]); diff != "" {
		t.Errorf("kernel artifact (-want +got):\n%s", diff)
	}
	if m.Artifacts[1].Kind != KindTree || m.Artifacts[1].Size != int64(len("node\n")+len("#!/bin/sh\n")) {
		t.Errorf("tree artifact = %+v", m.Artifacts[1])
	}
	all, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Manifest{m}, all); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	p, err := s.Path("vela-os", "kernel")
	if err != nil || p != filepath.Join(s.Dir(), "vela-os", "v1", "kernel") {
		t.Errorf("Path = %q, %v", p, err)
	}
	if _, err := s.Path("vela-os", "initramfs"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Path(initramfs) err = %v, want ErrNotFound", err)
	}
	if _, err := s.Path("fcos", "kernel"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Path(fcos) err = %v, want ErrNotFound", err)
	}
	got, ok, err := s.FindRecipe("vela-os", recipeA)
	if err != nil || !ok || got.Version != "v1" {
		t.Errorf("FindRecipe = %v %v %v", got.Version, ok, err)
	}
	if _, ok, _ := s.FindRecipe("vela-os", strings.Repeat("b", 64)); ok {
		t.Error("FindRecipe found an unknown recipe")
	}
	if err := s.Verify(context.Background(), "vela-os", "", nil); err != nil {
		t.Errorf("Verify of an intact version: %v", err)
	}
}

func TestVerifyNamesTheBadFile(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   []string // substrings of the problems, in order
	}{
		{"corrupted kernel", func(t *testing.T, dir string) { write(t, filepath.Join(dir, "kernel"), "kernel bytez") },
			[]string{"/kernel: corrupted: sha256"}},
		{"truncated kernel", func(t *testing.T, dir string) { write(t, filepath.Join(dir, "kernel"), "kern") },
			[]string{"/kernel: truncated: 4 bytes, manifest says 12"}},
		{"grown kernel", func(t *testing.T, dir string) { write(t, filepath.Join(dir, "kernel"), "kernel bytes!") },
			[]string{"/kernel: wrong size: 13 bytes"}},
		{"missing kernel", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "kernel")) },
			[]string{"/kernel: missing"}},
		{"changed file in tree", func(t *testing.T, dir string) { write(t, filepath.Join(dir, "tree/etc/hostname"), "evil\n") },
			[]string{"/tree/etc/hostname (changed)"}},
		{"added file in tree", func(t *testing.T, dir string) { write(t, filepath.Join(dir, "tree/etc/shadow2"), "x") },
			[]string{"/tree/etc/shadow2 (unexpected)"}},
		{"removed file in tree", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "tree/usr/bin/x")) },
			[]string{"/tree/usr/bin/x (missing)"}},
		{"chmod in tree", func(t *testing.T, dir string) { os.Chmod(filepath.Join(dir, "tree/usr/bin/x"), 0o4755) },
			[]string{"/tree/usr/bin/x (changed)"}},
		{"edited listing", func(t *testing.T, dir string) { write(t, filepath.Join(dir, "tree.list"), "") },
			[]string{"/tree.list: listing corrupted"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			commitTestVersion(t, s, "v1")
			tc.damage(t, s.VersionDir("vela-os", "v1"))
			err := s.Verify(context.Background(), "vela-os", "v1", nil)
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify = %v, want a *VerifyError", err)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Verify error does not name %q:\n%s", w, msg)
				}
			}
			if _, err := s.VerifyAll(context.Background(), nil); !errors.As(err, &ve) {
				t.Errorf("VerifyAll = %v, want a *VerifyError", err)
			}
		})
	}
}

func TestStageCleansInterruptedRunAndAbort(t *testing.T) {
	s := newStore(t)
	st, err := s.Stage("vela-os")
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(st.Dir(), "rootfs"), "half a squashfs")
	// A crash leaves st.Dir() behind; the next Stage removes it.
	st2, err := s.Stage("vela-os")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(st.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial output of the interrupted run still exists: %v", err)
	}
	st2.Abort()
	if _, err := os.Stat(st2.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Abort left %s: %v", st2.Dir(), err)
	}
	left, _ := filepath.Glob(filepath.Join(s.Dir(), ".staging-*"))
	if len(left) != 0 {
		t.Errorf("staging dirs left: %v", left)
	}
	if _, err := s.Current("vela-os"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Current after aborted build = %v, want ErrNotFound", err)
	}
}

func TestLockIsExclusive(t *testing.T) {
	s := newStore(t)
	unlock, err := s.Lock("vela-os")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock("vela-os"); err == nil || !strings.Contains(err.Error(), "another build") {
		t.Errorf("second Lock = %v, want a refusal", err)
	}
	unlock()
	unlock2, err := s.Lock("vela-os")
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	unlock2()
}

func TestParseManifest(t *testing.T) {
	good := `{"image":"fcos","version":"41.1","source":"s","created":"2026-01-01T00:00:00Z",
	  "artifacts":[{"name":"kernel","kind":"file","sha256":"` + recipeA + `","size":1}]}`
	tests := []struct{ name, in, wantErr string }{
		{"good", good, ""},
		{"unknown key", strings.Replace(good, `"source"`, `"sauce"`, 1), "unknown field"},
		{"path escape", strings.Replace(good, `"kernel"`, `"../etc"`, 1), "artifact name"},
		{"bad hash", strings.Replace(good, recipeA, "xyz", 1), "64 hex digits"},
		{"bad kind", strings.Replace(good, `"file"`, `"socket"`, 1), "kind"},
		{"version current", strings.Replace(good, `"41.1"`, `"current"`, 1), "version"},
		{"no artifacts", `{"image":"fcos","version":"1","artifacts":[]}`, "no artifacts"},
		{"trailing", good + "{}", "trailing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest([]byte(tc.in))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("ParseManifest err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"image":"fcos","version":"41.1","source":"s","created":"2026-01-01T00:00:00Z","artifacts":[{"name":"kernel","kind":"file","sha256":"` + recipeA + `","size":1}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseManifest(out)
		if err != nil {
			t.Fatalf("a valid manifest does not round-trip: %v", err)
		}
		if diff := cmp.Diff(m, m2); diff != "" {
			t.Errorf("round trip (-first +second):\n%s", diff)
		}
		for _, a := range m.Artifacts {
			if strings.Contains(a.Name, "/") || a.Name == ".." {
				t.Errorf("accepted artifact name %q", a.Name)
			}
		}
	})
}

func TestPrune(t *testing.T) {
	s := newStore(t)
	for i, v := range []string{"v1", "v2", "v3", "v4"} {
		st, err := s.Stage("fcos")
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(st.Dir(), "kernel"), v)
		if _, err := st.Commit(context.Background(), Manifest{Version: v, Created: time.Date(2026, 1, 1, i, 0, 0, 0, time.UTC)}, []string{"kernel"}, v != "v4"); err != nil {
			t.Fatal(err)
		}
	}
	// current is v3 (v4 was not made current): keep 2 removes v1 and v2.
	removed, err := s.Prune("fcos", 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"v1", "v2"}, removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	if _, err := s.Manifest("fcos", "v3"); err != nil {
		t.Errorf("current version pruned: %v", err)
	}
}

// fakeCache is a hand-written Cache: one recipe built, verifying or not.
type fakeCache struct {
	built    bool
	verifyOK bool
	current  string
}

func (f *fakeCache) FindRecipe(image, recipe string) (Manifest, bool, error) {
	return Manifest{Version: "v1"}, f.built, nil
}
func (f *fakeCache) Verify(context.Context, string, string, images.ProgressFunc) error {
	if f.verifyOK {
		return nil
	}
	return errors.New("rootfs: sha256 mismatch")
}
func (f *fakeCache) SetCurrent(image, version string) error { f.current = version; return nil }

func TestReuseBuild(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name        string
		f           fakeCache
		ok          bool
		wantCurrent string
	}{
		{"nothing built", fakeCache{}, false, ""},
		{"built and verifies", fakeCache{built: true, verifyOK: true}, true, "v1"},
		{"built but corrupt: rebuild", fakeCache{built: true}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ok, err := ReuseBuild(context.Background(), &tc.f, "vela-os", "abc", nil, log)
			if err != nil || ok != tc.ok || tc.f.current != tc.wantCurrent {
				t.Errorf("ok=%v err=%v current=%q", ok, err, tc.f.current)
			}
		})
	}
}
