package faults

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/fsm"
)

// TestDiskFullStopsWrites puts a member's data dir on a small tmpfs, fills
// it, and checks that writes are refused with a reason (507), reads go on,
// and writes resume once space is freed, with nothing acknowledged lost.
func TestDiskFullStopsWrites(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("mounting a tmpfs needs root, which CI has")
		}
		t.Skip("not root: cannot mount a tmpfs for the data dir")
	}
	bin := vela(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	disk := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256m", "vela-faults-disk", disk).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", disk).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", disk, err, out)
		}
	})
	c, err := StartCluster(ctx, bin, filepath.Join(disk, "cluster"), 1)
	defer c.Close()
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := c.Client(c.Procs[0], 5*time.Second)
	if _, err := cl.PutMachine(ctx, fsm.Machine{Name: "before"}); err != nil {
		t.Fatal(err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(disk, &st); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(disk, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Fallocate(int(f.Fd()), 0, 0, int64(st.Bavail*uint64(st.Bsize))-16<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = cl.PutMachine(ctx, fsm.Machine{Name: "refused"})
	if client.StatusOf(err) != 507 || !strings.Contains(err.Error(), "free space") {
		t.Fatalf("write on a full disk: %v", err)
	}
	if _, err := cl.GetMachine(ctx, "before", false); err != nil {
		t.Fatalf("read on a full disk: %v", err)
	}
	os.Remove(filler)
	if _, err := cl.PutMachine(ctx, fsm.Machine{Name: "after"}); err != nil {
		t.Fatalf("write after freeing space: %v", err)
	}
	for _, name := range []string{"before", "after"} {
		if _, err := cl.GetMachine(ctx, name, false); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	c.Stop()
}
