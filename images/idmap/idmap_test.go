package idmap

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestShift(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	su := filepath.Join(bin, "su")
	if err := os.WriteFile(su, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(su, 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("su", filepath.Join(bin, "link")); err != nil {
		t.Fatal(err)
	}
	if ShiftedBy(root) != 0 {
		t.Fatal("an unshifted tree reports a base")
	}
	if err := Shift(root, Base); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{root, bin, su, filepath.Join(bin, "link"), filepath.Join(root, MarkerFile)} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != Base || st.Gid != Base {
			t.Errorf("%s: owner %d:%d, want %d:%d", p, st.Uid, st.Gid, Base, Base)
		}
	}
	if fi, _ := os.Stat(su); fi.Mode()&os.ModeSetuid == 0 {
		t.Error("the setuid bit was lost")
	}
	if got := ShiftedBy(root); got != Base {
		t.Errorf("ShiftedBy = %d, want %d", got, Base)
	}
	if err := Shift(root, Base); err != nil { // IDs already above the base stay
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(su); fi.Sys().(*syscall.Stat_t).Uid != Base {
		t.Error("a second shift moved the IDs again")
	}
}
