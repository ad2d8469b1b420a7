package ignition

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vincent-petithory/dataurl"

	"github.com/vela-appliance/vela/installer/config"
)

// dataDiskScript extracts vela-data-disk from a rendered hypervisor config.
func dataDiskScript(t *testing.T) string {
	t.Helper()
	b, err := Render(testInput(t, loadTestConfig(t, config.ImageVelaOS), "both1"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Storage struct {
			Files []struct {
				Path     string
				Contents struct{ Source string }
			}
		}
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, f := range cfg.Storage.Files {
		if f.Path == "/usr/local/libexec/vela-data-disk" {
			u, err := dataurl.DecodeString(f.Contents.Source)
			if err != nil {
				t.Fatal(err)
			}
			s := u.Data
			p := filepath.Join(t.TempDir(), "vela-data-disk")
			if err := os.WriteFile(p, s, 0o755); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	t.Fatal("no vela-data-disk in the rendered config of a hypervisor with data_disk")
	return ""
}

// TestDataDiskScript runs the rendered vela-data-disk on loop devices: an
// empty disk is formatted and mounted (twice: idempotent); a disk holding
// another filesystem is refused and left as it was.
func TestDataDiskScript(t *testing.T) {
	if os.Geteuid() != 0 {
		needComponent(t, "loop devices and mounts need root")
	}
	for _, tool := range []string{"losetup", "mkfs.ext4", "blkid", "mountpoint"} {
		if _, err := exec.LookPath(tool); err != nil {
			needComponent(t, "%s is missing (apt-get install util-linux e2fsprogs)", tool)
		}
	}
	script := dataDiskScript(t)
	loop := func(name string) string {
		img := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(img, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(img, 64<<20); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("losetup", "--find", "--show", img).Output()
		if err != nil {
			t.Fatalf("losetup: %v", err)
		}
		dev := strings.TrimSpace(string(out))
		t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
		return dev
	}

	empty, dir := loop("empty.img"), t.TempDir()
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	for i := 0; i < 2; i++ {
		if out, err := exec.Command(script, empty, dir).CombinedOutput(); err != nil {
			t.Fatalf("run %d on an empty disk: %v\n%s", i+1, err, out)
		}
	}
	if err := exec.Command("mountpoint", "-q", dir).Run(); err != nil {
		t.Fatalf("%s is not mounted", dir)
	}
	if out, _ := exec.Command("blkid", "-o", "value", "-s", "LABEL", empty).Output(); strings.TrimSpace(string(out)) != "vela-nodes" {
		t.Errorf("label %q, want vela-nodes", out)
	}

	other, dir2 := loop("other.img"), t.TempDir()
	if out, err := exec.Command("mkfs.ext4", "-q", "-L", "precious", other).CombinedOutput(); err != nil {
		t.Fatalf("mkfs: %v\n%s", err, out)
	}
	out, err := exec.Command(script, other, dir2).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "refusing to format") {
		t.Fatalf("a disk with another filesystem: %v\n%s", err, out)
	}
	if exec.Command("mountpoint", "-q", dir2).Run() == nil {
		exec.Command("umount", dir2).Run()
		t.Error("a refused disk was mounted")
	}
	if out, _ := exec.Command("blkid", "-o", "value", "-s", "LABEL", other).Output(); strings.TrimSpace(string(out)) != "precious" {
		t.Errorf("the refused disk changed: label %q", out)
	}
}
