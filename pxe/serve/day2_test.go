package serve

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/ignition"
	"github.com/vela-appliance/vela/images/store"
)

func TestBootImage(t *testing.T) {
	dir := t.TempDir()
	write := func(p, body string) {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	// A member's layout: files, no manifest; rootfs a link to the live root.
	write("member/vela-os/current/kernel", "k")
	write("member/vela-os/current/initramfs", "i")
	// The seed's store: a version with its manifest (hashes trusted, not recomputed).
	write("seed/fcos/v1/kernel", "k")
	write("seed/fcos/v1/initramfs", "i")
	write("seed/fcos/v1/rootfs", "r")
	m := store.Manifest{Image: "fcos", Version: "v1", Source: "test", Artifacts: []store.Artifact{
		{Name: "kernel", Kind: store.KindFile, SHA256: strings.Repeat("1", 64), Size: 1},
		{Name: "initramfs", Kind: store.KindFile, SHA256: strings.Repeat("2", 64), Size: 1},
		{Name: "rootfs", Kind: store.KindFile, SHA256: strings.Repeat("3", 64), Size: 1}}}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	write("seed/fcos/v1/manifest.json", string(b))
	if err := os.Symlink("v1", filepath.Join(dir, "seed/fcos/current")); err != nil {
		t.Fatal(err)
	}
	write("ipxe/undionly.kpxe", "bios")
	write("ipxe/snponly.efi", "uefi")
	ipxe := map[string]string{"undionly.kpxe": sum("bios"), "snponly.efi": sum("uefi")}
	write("nofcosroot/fcos/kernel", "k")
	write("nofcosroot/fcos/initramfs", "i")

	tests := []struct {
		name, dir, image string
		want             *ignition.BootImage
		err              string
	}{
		{"member layout, hashed", "member", "vela-os", &ignition.BootImage{KernelSHA256: sum("k"), InitramfsSHA256: sum("i"), IPXE: ipxe}, ""},
		{"store manifest", "seed", "fcos", &ignition.BootImage{KernelSHA256: strings.Repeat("1", 64), InitramfsSHA256: strings.Repeat("2", 64), RootfsSHA256: strings.Repeat("3", 64), IPXE: ipxe}, ""},
		{"custom is not copied", "member", "custom", nil, ""},
		{"missing image", "member", "fcos", nil, "day-2 boot image fcos: open"},
		{"fcos without rootfs", "nofcosroot", "fcos", nil, "members fetch the fcos rootfs"},
		{"no iPXE binaries", "member", "vela-os", nil, "iPXE binary: open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ipxeDir := filepath.Join(dir, "ipxe")
			if tt.name == "no iPXE binaries" {
				ipxeDir = filepath.Join(dir, "member") // holds no iPXE binary
			}
			got, err := BootImage(filepath.Join(dir, tt.dir), tt.image, ipxeDir)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}
