package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// A tree artifact (a root filesystem directory) is hashed through its
// listing: one line per entry, sorted by path,
//
//	PATH MODE UID GID SHA256-or-LINKTARGET
//
// (PATH and LINKTARGET quoted with %q). The listing is kept beside the tree as
// NAME.list so verify can name the entry that changed; the manifest holds the
// listing's sha256.

// TreeEntry is one line of a tree listing.
type TreeEntry struct {
	Path   string
	Mode   fs.FileMode
	UID    uint32
	GID    uint32
	Digest string // sha256 of a regular file, target of a symlink, "-" otherwise
	Size   int64
}

func (e TreeEntry) line() string {
	return fmt.Sprintf("%q %o %d %d %q\n", e.Path, uint32(e.Mode), e.UID, e.GID, e.Digest)
}

// ListTree walks dir and returns its sorted listing and the total size of its
// regular files. It does not follow symlinks.
func ListTree(ctx context.Context, dir string, onBytes func(int64)) ([]TreeEntry, int64, error) {
	var out []TreeEntry
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := TreeEntry{Path: filepath.ToSlash(rel), Mode: info.Mode(), Digest: "-"}
		e.UID, e.GID = owner(info)
		switch {
		case info.Mode().IsRegular():
			sum, n, err := HashFile(ctx, p, nil)
			if err != nil {
				return err
			}
			e.Digest, e.Size = sum, n
			total += n
			if onBytes != nil {
				onBytes(total)
			}
		case info.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			e.Digest = t
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list tree %s: %w", dir, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, total, nil
}

// EncodeListing renders a listing; its sha256 is the tree's hash.
func EncodeListing(entries []TreeEntry) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		b.WriteString(e.line())
	}
	return b.Bytes()
}

// HashListing is the hex sha256 of an encoded listing.
func HashListing(listing []byte) string {
	s := sha256.Sum256(listing)
	return hex.EncodeToString(s[:])
}

// DiffListings names up to max entries that differ between want and got:
// changed, missing or unexpected.
func DiffListings(want, got []byte, max int) []string {
	w, g := splitLines(want), splitLines(got)
	var out []string
	for p, l := range w {
		switch gl, ok := g[p]; {
		case !ok:
			out = append(out, p+": missing")
		case gl != l:
			out = append(out, p+": changed")
		}
	}
	for p := range g {
		if _, ok := w[p]; !ok {
			out = append(out, p+": unexpected")
		}
	}
	sort.Strings(out)
	if len(out) > max {
		out = append(out[:max], fmt.Sprintf("... and %d more", len(out)-max))
	}
	return out
}

func splitLines(b []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		path, err := strconv.QuotedPrefix(l)
		if err != nil {
			path = l
		}
		m[path] = l
	}
	return m
}
