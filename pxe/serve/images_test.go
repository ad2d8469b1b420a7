package serve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/ignition"
	"github.com/vela-appliance/vela/images/nodeimage"
	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/pxe/httpboot"
)

func TestImageFiles(t *testing.T) {
	dir := t.TempDir()
	touch := func(p string) string {
		p = filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	store := filepath.Join(dir, "store")
	touch("store/vela-os/v1/kernel")
	touch("store/vela-os/v1/initramfs")
	if err := os.Symlink("v1", filepath.Join(store, "vela-os", "current")); err != nil {
		t.Fatal(err)
	}
	fk, fi, fr := touch("store/fcos/kernel"), touch("store/fcos/initramfs"), touch("store/fcos/rootfs")
	ck, ci := touch("cfg/boot/k"), touch("cfg/boot/i")
	tests := []struct {
		name string
		os   config.OS
		want map[string]httpboot.Image
		err  string
	}{
		{"store with current", config.OS{Image: "vela-os"}, map[string]httpboot.Image{"vela-os": {
			Kernel: filepath.Join(store, "vela-os", "current", "kernel"), Initramfs: filepath.Join(store, "vela-os", "current", "initramfs")}}, ""},
		{"flat store with rootfs", config.OS{Image: "fcos"}, map[string]httpboot.Image{"fcos": {Kernel: fk, Initramfs: fi, Rootfs: fr}}, ""},
		{"custom, relative to the config", config.OS{Image: "custom", Kernel: "boot/k", Initramfs: "boot/i"},
			map[string]httpboot.Image{"custom": {Kernel: ck, Initramfs: ci}}, ""},
		{"custom, missing file", config.OS{Image: "custom", Kernel: "boot/k", Initramfs: "boot/nope"}, nil, "custom image file"},
		{"image not built", config.OS{Image: "vela-os"}, nil, "build or import it"},
	}
	for n, tt := range tests {
		imagesDir := store
		if n == len(tests)-1 {
			imagesDir = filepath.Join(dir, "empty")
		}
		got, err := imageFiles(Config{Install: &config.Config{OS: tt.os}, ConfigDir: filepath.Join(dir, "cfg"), ImagesDir: imagesDir})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err %v, want one containing %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// TestImageFilesNodeImage: the node image is served from the seed's store
// (node/current/PACKED) or from a member's layout (node.squashfs, where
// its Ignition config put it), and left out when neither holds one.
func TestImageFilesNodeImage(t *testing.T) {
	packed := filepath.Join("node", "current", nodeimage.Packed)
	tests := []struct {
		name  string
		files []string // beside vela-os/current/{kernel,initramfs}
		dirs  []string
		want  string // served file, relative; "" none
	}{
		{"seed store", []string{packed}, nil, packed},
		{"member layout", []string{ignition.NodeImageFile}, []string{"node/rootfs"}, ignition.NodeImageFile},
		{"both: the seed's store first", []string{packed, ignition.NodeImageFile}, nil, packed},
		{"none (a mounted node/rootfs is not a file)", nil, []string{"node/rootfs", ignition.NodeImageFile}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range append([]string{"vela-os/current/kernel", "vela-os/current/initramfs"}, tt.files...) {
				p := filepath.Join(dir, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, d := range tt.dirs {
				if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			got, err := imageFiles(Config{Install: &config.Config{OS: config.OS{Image: "vela-os"}}, ImagesDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			want := httpboot.Image{}
			if tt.want != "" {
				want.Rootfs = filepath.Join(dir, tt.want)
			}
			if diff := cmp.Diff(want, got["node"]); diff != "" {
				t.Errorf("node image (-want +got):\n%s", diff)
			}
			if NodeImage(dir) != want.Rootfs {
				t.Errorf("NodeImage = %q, want %q", NodeImage(dir), want.Rootfs)
			}
		})
	}
}
