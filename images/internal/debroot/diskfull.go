package debroot

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
)

// lowSpace is the free space under which a failed build is blamed on a full disk.
const lowSpace = 128 << 20

// ExplainFull returns err with advice when the build failed because the
// filesystem holding dir is (nearly) full; call it before removing dir.
func ExplainFull(err error, dir, need string) error {
	if err == nil {
		return nil
	}
	full := errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), "No space left on device")
	var st syscall.Statfs_t
	if !full && syscall.Statfs(dir, &st) == nil && st.Bavail*uint64(st.Bsize) < lowSpace {
		full = true
	}
	if !full {
		return err
	}
	return fmt.Errorf("%w\nthe disk holding %s is full; free space (%s) or point --store/--cache elsewhere; the partial output was removed", err, filepath.Dir(dir), need)
}
