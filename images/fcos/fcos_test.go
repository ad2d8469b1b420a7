package fcos

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/images/store"
)

var artifacts = map[string]string{
	"fedora-coreos-41.1-live-kernel.x86_64":        "kernel image",
	"fedora-coreos-41.1-live-initramfs.x86_64.img": strings.Repeat("initramfs ", 1000),
	"fedora-coreos-41.1-live-rootfs.x86_64.img":    strings.Repeat("rootfs ", 300000),
}

func sum(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

// streamJSON is a stream.json in Fedora CoreOS's format for the test files.
func streamJSON(base string) string {
	loc := func(n string) string {
		return fmt.Sprintf(`{"location":"%s/%s","signature":"%s/%s.sig","sha256":"%s"}`, base, n, base, n, sum(artifacts[n]))
	}
	return `{"stream":"stable","metadata":{"last-modified":"2026-01-01T00:00:00Z"},
	"architectures":{"x86_64":{"artifacts":{"metal":{"release":"41.1","formats":{
	  "pxe":{"kernel":` + loc("fedora-coreos-41.1-live-kernel.x86_64") + `,
	         "initramfs":` + loc("fedora-coreos-41.1-live-initramfs.x86_64.img") + `,
	         "rootfs":` + loc("fedora-coreos-41.1-live-rootfs.x86_64.img") + `},
	  "raw.xz":{"disk":{"location":"https://x/y.raw.xz","sha256":"` + strings.Repeat("0", 64) + `"}}}}}}}}`
}

func TestParseStream(t *testing.T) {
	good := streamJSON("https://builds.example/prod")
	got, err := ParseStream([]byte(good), "x86_64")
	if err != nil {
		t.Fatal(err)
	}
	want := PXE{Stream: "stable", Release: "41.1", Files: []File{
		{"kernel", "https://builds.example/prod/fedora-coreos-41.1-live-kernel.x86_64", "fedora-coreos-41.1-live-kernel.x86_64", sum(artifacts["fedora-coreos-41.1-live-kernel.x86_64"])},
		{"initramfs", "https://builds.example/prod/fedora-coreos-41.1-live-initramfs.x86_64.img", "fedora-coreos-41.1-live-initramfs.x86_64.img", sum(artifacts["fedora-coreos-41.1-live-initramfs.x86_64.img"])},
		{"rootfs", "https://builds.example/prod/fedora-coreos-41.1-live-rootfs.x86_64.img", "fedora-coreos-41.1-live-rootfs.x86_64.img", sum(artifacts["fedora-coreos-41.1-live-rootfs.x86_64.img"])},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseStream (-want +got):\n%s", diff)
	}
	bad := []struct{ name, in, arch, wantErr string }{
		{"not json", "{", "x86_64", "stream metadata"},
		{"other arch", good, "aarch64", "no architecture aarch64"},
		{"bad sha", strings.Replace(good, sum(artifacts["fedora-coreos-41.1-live-kernel.x86_64"]), "abc", 1), "x86_64", "not 64 lowercase hex"},
		{"file scheme", strings.Replace(good, "https://builds.example/prod/fedora-coreos-41.1-live-kernel", "file:///etc/kernel", 1), "x86_64", "not an http(s) URL"},
		{"path release", strings.Replace(good, `"release":"41.1"`, `"release":"../41"`, 1), "x86_64", "not a valid version"},
		{"no pxe", strings.Replace(good, `"pxe"`, `"iso"`, 1), "x86_64", "no pxe format"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseStream([]byte(tc.in), tc.arch); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func FuzzParseStream(f *testing.F) {
	f.Add([]byte(streamJSON("https://builds.example/prod")))
	f.Add([]byte(`{"architectures":{"x86_64":{"artifacts":{"metal":{"release":"1","formats":{"pxe":{}}}}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseStream(b, "x86_64")
		if err != nil {
			return
		}
		if len(p.Files) != 3 {
			t.Fatalf("accepted a stream with %d pxe files", len(p.Files))
		}
		for _, f := range p.Files {
			if strings.ContainsAny(f.Base, "/\\") || f.Base == ".." || strings.Contains(p.Release, "/") {
				t.Errorf("accepted unsafe name %q / release %q", f.Base, p.Release)
			}
		}
	})
}

func writeDir(t *testing.T, skip, corrupt string) string {
	t.Helper()
	dir := t.TempDir()
	for n, c := range artifacts {
		if n == skip {
			continue
		}
		if n == corrupt {
			c = c[:len(c)/2]
		}
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, StreamFile), []byte(streamJSON("https://builds.example/prod")), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func newImporter(t *testing.T) (*Importer, *store.Store) {
	t.Helper()
	st, err := store.New(store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{Store: st}), st
}

func TestImportDir(t *testing.T) {
	tests := []struct {
		name, skip, corrupt, wantErr string
		noStream                     bool
	}{
		{name: "complete"},
		{name: "missing rootfs", skip: "fedora-coreos-41.1-live-rootfs.x86_64.img", wantErr: "missing [fedora-coreos-41.1-live-rootfs.x86_64.img (rootfs)]"},
		{name: "truncated initramfs", corrupt: "fedora-coreos-41.1-live-initramfs.x86_64.img", wantErr: "fedora-coreos-41.1-live-initramfs.x86_64.img: sha256"},
		{name: "no stream.json", noStream: true, wantErr: "no stream metadata"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			im, st := newImporter(t)
			dir := writeDir(t, tc.skip, tc.corrupt)
			if tc.noStream {
				os.Remove(filepath.Join(dir, StreamFile))
			}
			m, err := im.ImportDir(context.Background(), dir, "")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ImportDir err = %v, want %q", err, tc.wantErr)
				}
				if all, _ := st.List(); len(all) != 0 {
					t.Errorf("a failed import left %d version(s) in the store", len(all))
				}
				left, _ := filepath.Glob(filepath.Join(st.Dir(), ".staging-*"))
				if len(left) != 0 {
					t.Errorf("a failed import left staging dirs %v", left)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Version != "41.1" || len(m.Artifacts) != 3 {
				t.Errorf("manifest = %+v", m)
			}
			if err := st.Verify(context.Background(), "fcos", "", nil); err != nil {
				t.Error(err)
			}
			p, _ := st.Path("fcos", "rootfs")
			if b, _ := os.ReadFile(p); string(b) != artifacts["fedora-coreos-41.1-live-rootfs.x86_64.img"] {
				t.Error("stored rootfs differs from the imported file")
			}
		})
	}
}

// server serves the stream and artifacts with Range support; the first
// request of the rootfs is cut after cut bytes, like a dropped connection.
func server(t *testing.T, cut int, corruptRootfs bool) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var log []string
	cutDone := false
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		log = append(log, r.URL.Path+" range="+r.Header.Get("Range"))
		first := !cutDone && strings.Contains(r.URL.Path, "rootfs")
		if first {
			cutDone = true
		}
		mu.Unlock()
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name == "stream.json" {
			w.Write([]byte(streamJSON(srv.URL)))
			return
		}
		c, ok := artifacts[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if corruptRootfs && strings.Contains(name, "rootfs") {
			c = strings.Replace(c, "rootfs", "r00tfs", 1)
		}
		if first && cut > 0 {
			w.Header().Set("Content-Length", fmt.Sprint(len(c)))
			w.Write([]byte(c[:cut]))
			panic(http.ErrAbortHandler) // drop the connection mid-body
		}
		http.ServeContent(w, r, name, fixedTime, strings.NewReader(c))
	}))
	t.Cleanup(srv.Close)
	return srv, &log
}

func TestDownloadResumes(t *testing.T) {
	im, st := newImporter(t)
	srv, log := server(t, 500000, false)
	dl := t.TempDir()
	_, err := im.Download(context.Background(), srv.Client(), srv.URL+"/stream.json", dl)
	if err == nil || !strings.Contains(err.Error(), "run the same command again to resume") {
		t.Fatalf("first Download err = %v, want an interruption", err)
	}
	part := filepath.Join(dl, "fcos/41.1/fedora-coreos-41.1-live-rootfs.x86_64.img.part")
	if info, err := os.Stat(part); err != nil || info.Size() != 500000 {
		t.Fatalf("partial file: %v %v", info, err)
	}
	m, err := im.Download(context.Background(), srv.Client(), srv.URL+"/stream.json", dl)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != "41.1" {
		t.Errorf("version = %q", m.Version)
	}
	if err := st.Verify(context.Background(), "fcos", "41.1", nil); err != nil {
		t.Error(err)
	}
	if !strings.Contains(strings.Join(*log, "\n"), "rootfs.x86_64.img range=bytes=500000-") {
		t.Errorf("second run did not resume with a Range request:\n%s", strings.Join(*log, "\n"))
	}
	if _, err := os.Stat(filepath.Join(dl, "fcos/41.1")); !os.IsNotExist(err) {
		t.Errorf("downloads not removed after import: %v", err)
	}
}

func TestDownloadRefusesBadHash(t *testing.T) {
	im, st := newImporter(t)
	srv, _ := server(t, 0, true)
	_, err := im.Download(context.Background(), srv.Client(), srv.URL+"/stream.json", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "fcos rootfs") || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("Download err = %v, want a rootfs hash mismatch", err)
	}
	if all, _ := st.List(); len(all) != 0 {
		t.Errorf("store holds %d version(s) after a refused download", len(all))
	}
}

var fixedTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
