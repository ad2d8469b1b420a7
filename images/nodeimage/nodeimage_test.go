package nodeimage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/idmap"
	"github.com/vela-appliance/vela/images/store"
)

func TestRecipeHash(t *testing.T) {
	a, b := DefaultRecipe(), DefaultRecipe()
	b.Packages = append(b.Packages, "vim")
	if a.Hash() == b.Hash() || a.Hash() != DefaultRecipe().Hash() {
		t.Error("recipe hash does not follow the recipe")
	}
}

func TestInitParses(t *testing.T) {
	if out, err := exec.Command("sh", "-n", "files/vela-node-init").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

func need(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, tool := range []string{"debootstrap", "unshare", "chroot"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("node image build needs %v (apt-get install debootstrap; run as root)", missing)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// TestBuildNodeImage builds the node image into the machine's store (cached
// by recipe between runs) and checks what a node needs is in it and runs.
func TestBuildNodeImage(t *testing.T) {
	need(t)
	st, err := store.New(store.Config{Dir: envOr(images.EnvStoreDir, images.DefaultStoreDir)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	res, err := New(Config{Store: st, CacheDir: envOr(images.EnvCacheDir, images.DefaultCacheDir), Recipe: DefaultRecipe()}).Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := res.Manifest.Artifact(Artifact)
	t.Logf("node image %s: cached=%v in %s, %.1f MiB", res.Manifest.Version, res.Cached, res.Took.Round(time.Millisecond), float64(a.Size)/(1<<20))
	root := filepath.Join(st.VersionDir(images.Node, res.Manifest.Version), Artifact)
	if info, err := os.Stat(filepath.Join(root, Init)); err != nil || info.Mode()&0o111 == 0 {
		t.Errorf("%s missing or not executable: %v", Init, err)
	}
	for _, bin := range []string{"dockerd --version", "tini --version", "unshare --version", "iptables --version"} {
		out, err := exec.Command("chroot", append([]string{root}, strings.Fields(bin)...)...).CombinedOutput()
		if err != nil {
			t.Errorf("chroot %s %s: %v\n%s", root, bin, err, out)
		}
	}
	if err := st.Verify(ctx, images.Node, res.Manifest.Version, nil); err != nil {
		t.Error(err)
	}

	// Packed for hypervisors: once per version, then found again.
	start := time.Now()
	packed, sum, err := Pack(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("packed %s in %s", packed, time.Since(start).Round(time.Millisecond))
	out, err := exec.Command("unsquashfs", "-l", packed).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "/vela-node-init\n") {
		t.Errorf("the packed image does not hold %s: %v\n%s", Init, err, out)
	}
	// Packed for unprivileged nodes: owned from idmap.Base up, marked.
	out, err = exec.Command("unsquashfs", "-lln", packed).CombinedOutput()
	if err != nil || strings.Contains(string(out), " 0/0 ") || !strings.Contains(string(out), fmt.Sprintf(" %d/%d ", idmap.Base, idmap.Base)) ||
		!strings.Contains(string(out), "squashfs-root/"+idmap.MarkerFile+"\n") {
		t.Errorf("the packed image is not all shifted to uid %d with its marker: %v", idmap.Base, err)
	}
	if again, sum2, err := Pack(ctx, st, nil); err != nil || again != packed || sum2 != sum || len(sum) != 128 {
		t.Errorf("second Pack: %s %s %v; want %s %s", again, sum2, err, packed, sum)
	}
}

// TestBuildFullDisk builds into a store on a 64 MiB tmpfs: the build must
// fail saying the disk is full and leave nothing behind.
func TestBuildFullDisk(t *testing.T) {
	need(t)
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	st, err := store.New(store.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	_, err = New(Config{Store: st, CacheDir: envOr(images.EnvCacheDir, images.DefaultCacheDir), Recipe: DefaultRecipe()}).Build(ctx)
	if err == nil || !strings.Contains(err.Error(), "is full") {
		t.Fatalf("build on a full disk: err = %v, want one saying the disk is full", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".staging-*"))
	if all, _ := st.List(); len(left) != 0 || len(all) != 0 {
		t.Errorf("partial output left: staging %v, versions %d", left, len(all))
	}
}
