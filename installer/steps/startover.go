package steps

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/vela-appliance/vela/installer/run"
)

// startOverPaths are what an install derives in its state dir: the
// progress, the secrets, the one-time secrets, the rendered configs and the
// first tenant's token. The
// lab's records and the boot services' leases stay (lab down needs them).
var startOverPaths = []string{run.StateFile, "secrets", "boot-secrets", "ignition", "tenants"}

// StartOver clears an earlier install from the state dir so the next run
// makes a new cluster (new CA, tokens and configs): `vela install --reset`
// moves them to STATE/previous/<UTC time>/ (returned) — an installed
// rack's secrets are never simply deleted; `vela lab down` (archive false)
// removes them, since the lab's diskless VMs that used them are gone.
func StartOver(stateDir string, archive bool) (string, error) {
	var dest string
	if archive {
		dest = filepath.Join(stateDir, "previous", time.Now().UTC().Format("20060102T150405Z"))
	}
	for _, p := range startOverPaths {
		src := filepath.Join(stateDir, p)
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if !archive {
			if err := os.RemoveAll(src); err != nil {
				return "", fmt.Errorf("removing %s: %w", src, err)
			}
			continue
		}
		if err := os.MkdirAll(dest, 0o700); err != nil {
			return "", err
		}
		if err := os.Rename(src, filepath.Join(dest, p)); err != nil {
			return "", fmt.Errorf("moving %s aside: %w", src, err)
		}
	}
	if dest != "" {
		if _, err := os.Stat(dest); err != nil {
			dest = "" // nothing was there
		}
	}
	return dest, nil
}
