package steps

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vela-appliance/vela/installer/run"
)

func TestStartOver(t *testing.T) {
	for _, archive := range []bool{true, false} {
		dir := t.TempDir()
		for _, p := range []string{run.StateFile, "secrets/ca.pem", "boot-secrets/m1/ca-key.pem.sent", "ignition/m1.ign", "lab/owned.json", "pxe/leases.json"} {
			os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o700)
			os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o600)
		}
		moved, err := StartOver(dir, archive)
		if err != nil {
			t.Fatal(err)
		}
		for _, gone := range []string{run.StateFile, "secrets", "boot-secrets", "ignition"} {
			if _, err := os.Stat(filepath.Join(dir, gone)); !os.IsNotExist(err) {
				t.Errorf("archive=%v: %s still there", archive, gone)
			}
			if archive {
				if _, err := os.Stat(filepath.Join(moved, gone)); err != nil {
					t.Errorf("%s not kept in %s: %v", gone, moved, err)
				}
			}
		}
		for _, kept := range []string{"lab/owned.json", "pxe/leases.json"} {
			if _, err := os.Stat(filepath.Join(dir, kept)); err != nil {
				t.Errorf("archive=%v: %s removed: %v", archive, kept, err)
			}
		}
		if !archive && moved != "" {
			t.Errorf("nothing is archived by lab down, got %q", moved)
		}
	}
	if moved, err := StartOver(t.TempDir(), true); err != nil || moved != "" {
		t.Errorf("empty state dir: %q %v", moved, err)
	}
}
