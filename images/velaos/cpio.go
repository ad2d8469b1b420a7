package velaos

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// writeCpio writes the tree at dir as a newc cpio archive (the initramfs
// format), entries sorted, owned by root, with fixed times: the same tree
// gives the same bytes.
func writeCpio(w io.Writer, dir string) error {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(paths)
	ino := 1
	for _, p := range paths {
		rel, _ := filepath.Rel(dir, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		var body []byte
		mode := uint32(info.Mode().Perm())
		switch {
		case info.Mode().IsRegular():
			mode |= 0o100000
			if body, err = os.ReadFile(p); err != nil {
				return err
			}
		case info.IsDir():
			mode |= 0o040000
		case info.Mode()&fs.ModeSymlink != 0:
			mode |= 0o120000
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			body = []byte(t)
		default:
			return fmt.Errorf("initramfs: %s is not a file, directory or symlink", p)
		}
		if err := cpioEntry(w, ino, rel, mode, body); err != nil {
			return err
		}
		ino++
	}
	return cpioEntry(w, 0, "TRAILER!!!", 0, nil)
}

func cpioEntry(w io.Writer, ino int, name string, mode uint32, body []byte) error {
	nlink := 1
	if mode&0o170000 == 0o040000 {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, 0, len(body), 0, 0, 0, 0, len(name)+1, 0)
	if _, err := io.WriteString(w, hdr+name+"\x00"); err != nil {
		return err
	}
	if err := pad(w, len(hdr)+len(name)+1); err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	return pad(w, len(body))
}

func pad(w io.Writer, n int) error {
	if r := n % 4; r != 0 {
		_, err := w.Write(make([]byte, 4-r))
		return err
	}
	return nil
}
