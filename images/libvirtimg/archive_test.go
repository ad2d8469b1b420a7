package libvirtimg

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixedLayer is a small layer tar with the same bytes everywhere.
func fixedLayer(t *testing.T) Layer {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, h := range []*tar.Header{
		{Name: "usr/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mt},
		{Name: "usr/sbin/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mt},
		{Name: "usr/sbin/libvirtd", Typeflag: tar.TypeReg, Mode: 0o755, Size: 3, ModTime: mt},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte("elf"))
		}
	}
	tw.Close()
	sum := sha256.Sum256(buf.Bytes())
	return Layer{R: bytes.NewReader(buf.Bytes()), Size: int64(buf.Len()), DiffID: "sha256:" + hex.EncodeToString(sum[:])}
}

// describe lists an archive's entries (name, type, mode, size) and the
// contents of its JSON files.
func describe(t *testing.T, archive []byte) string {
	var b strings.Builder
	tr := tar.NewReader(bytes.NewReader(archive))
	var texts []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		fmt.Fprintf(&b, "%c %o %8d %s\n", h.Typeflag, h.Mode, h.Size, h.Name)
		if strings.HasSuffix(h.Name, ".json") || h.Name == "repositories" {
			texts = append(texts, "== "+h.Name+"\n"+string(body)+"\n")
		}
	}
	return b.String() + strings.Join(texts, "")
}

func TestWriteArchiveGolden(t *testing.T) {
	l := fixedLayer(t)
	var buf bytes.Buffer
	a, err := WriteArchive(&buf, ImageConfig{Ref: Ref, Cmd: []string{Entrypoint}, Env: Env,
		Labels: map[string]string{"org.opencontainers.image.title": "vela-libvirtd"}, Created: time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)}, l)
	if err != nil {
		t.Fatal(err)
	}
	got := describe(t, buf.Bytes())
	got += "== result\nimage " + a.ImageID + "\nlayer " + a.DiffID + "\n"
	golden := filepath.Join("testdata", "archive.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("archive differs from %s (-want +got):\n%s", golden, diff)
	}
	// The config file is named by its digest, which is the image ID.
	if !strings.Contains(got, strings.TrimPrefix(a.ImageID, "sha256:")+".json") {
		t.Errorf("no config named after image ID %s", a.ImageID)
	}
}

func TestWriteArchiveBadInput(t *testing.T) {
	tests := []struct {
		name string
		ref  string
		l    func(Layer) Layer
		want string
	}{
		{"no tag", "localhost/vela-libvirtd", nil, "repository:tag"},
		{"upper case", "localhost/Vela:latest", nil, "lowercase"},
		{"port but no tag", "localhost:5000/vela", nil, "repository:tag"},
		{"bad digest", Ref, func(l Layer) Layer { l.DiffID = "md5:abc"; return l }, "diff ID"},
		{"short layer", Ref, func(l Layer) Layer { l.Size += 10; return l }, "missed writing"},
	}
	for _, tt := range tests {
		l := fixedLayer(t)
		if tt.l != nil {
			l = tt.l(l)
		}
		_, err := WriteArchive(io.Discard, ImageConfig{Ref: tt.ref}, l)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func TestWriteLayer(t *testing.T) {
	root := t.TempDir()
	mt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	write := func(p, s string, mode os.FileMode) {
		p = filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
	}
	write("usr/sbin/libvirtd", "elf", 0o755)
	write("etc/libvirt/lxc.conf", "# conf\n", 0o644)
	write("dev/null-ish", "not kept", 0o644)
	os.Mkdir(filepath.Join(root, "proc"), 0o555)
	if err := os.Link(filepath.Join(root, "usr/sbin/libvirtd"), filepath.Join(root, "usr/sbin/libvirtd-copy")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/sbin", filepath.Join(root, "sbin")); err != nil {
		t.Fatal(err)
	}
	filepath.Walk(root, func(p string, _ os.FileInfo, _ error) error { os.Chtimes(p, mt, mt); return nil })

	var buf bytes.Buffer
	size, diffID, err := WriteLayer(context.Background(), &buf, root)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	if size != int64(buf.Len()) || diffID != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("size %d diffID %s, want %d and the sha256 of the bytes", size, diffID, buf.Len())
	}
	var got []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != os.Getuid() || (!h.ModTime.Equal(mt) && h.Typeflag != tar.TypeSymlink) {
			t.Errorf("%s: uid %d mtime %s, want %d and %s", h.Name, h.Uid, h.ModTime, os.Getuid(), mt)
		}
		got = append(got, fmt.Sprintf("%c %o %d %s %s", h.Typeflag, h.Mode, h.Size, h.Name, h.Linkname))
	}
	want := []string{
		"5 755 0 dev/ ", "5 755 0 etc/ ", "5 755 0 etc/libvirt/ ", "0 644 7 etc/libvirt/lxc.conf ",
		"5 555 0 proc/ ", "2 777 0 sbin usr/sbin", "5 755 0 usr/ ", "5 755 0 usr/sbin/ ",
		"0 755 3 usr/sbin/libvirtd ", "1 755 0 usr/sbin/libvirtd-copy usr/sbin/libvirtd",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layer entries (-want +got):\n%s", diff)
	}
	// Same tree, same bytes.
	var again bytes.Buffer
	if _, d2, _ := WriteLayer(context.Background(), &again, root); d2 != diffID {
		t.Errorf("second layer of the same tree has diff ID %s, first %s", d2, diffID)
	}
}
