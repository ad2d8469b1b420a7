package tftp

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pin/tftp/v3"
)

// start serves a fresh directory on a loopback port and returns its address.
func start(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	if cfg.Root == "" {
		cfg.Root = t.TempDir()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, conn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, conn.LocalAddr().String()
}

func fetch(t *testing.T, addr, name string, blksize int) ([]byte, error) {
	t.Helper()
	c, err := tftp.NewClient(addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetTimeout(time.Second)
	c.SetRetries(2)
	if blksize > 0 {
		c.SetBlockSize(blksize)
	}
	wt, err := c.Receive(name, "octet")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	_, err = wt.WriteTo(&buf)
	return buf.Bytes(), err
}

func TestServeFile(t *testing.T) {
	dir := t.TempDir()
	want := make([]byte, 3<<20+17)
	rand.Read(want)
	if err := os.WriteFile(filepath.Join(dir, FileBIOS), want, 0o644); err != nil {
		t.Fatal(err)
	}
	var observed []string
	done := make(chan struct{}, 4)
	_, addr := start(t, Config{Root: dir, Observe: func(_ netip.Addr, file string, n int64, err error) {
		observed = append(observed, file)
		done <- struct{}{}
	}})
	for _, bs := range []int{0, 1468, 8192} {
		got, err := fetch(t, addr, FileBIOS, bs)
		if err != nil {
			t.Fatalf("blksize %d: %v", bs, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("blksize %d: got %d bytes, content differs from the %d served", bs, len(got), len(want))
		}
		<-done
	}
	if len(observed) != 3 {
		t.Errorf("observed %v, want 3 transfers", observed)
	}
}

func TestRefusesTraversal(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "root")
	sibling := filepath.Join(parent, "root-secret")
	for _, d := range []string{dir, sibling} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(sibling, "key"), []byte("secret"), 0o600)
	os.WriteFile(filepath.Join(parent, "key"), []byte("secret"), 0o600)
	os.WriteFile(filepath.Join(dir, "ok"), []byte("fine"), 0o644)
	if err := os.Symlink(filepath.Join(parent, "key"), filepath.Join(dir, "link-out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../root-secret", filepath.Join(dir, "dir-out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, addr := start(t, Config{Root: dir})
	for _, name := range []string{
		"../key", "../root-secret/key", "sub/../../key", "/etc/passwd", filepath.Join(parent, "key"),
		`..\key`, "link-out", "dir-out/key", "sub", strings.Repeat("x/", 200) + "ok", "missing",
	} {
		if got, err := fetch(t, addr, name, 0); err == nil {
			t.Errorf("fetch %q: got %q, want an error", name, got)
		}
	}
	if got, err := fetch(t, addr, "ok", 0); err != nil || string(got) != "fine" {
		t.Errorf("fetch ok = %q, %v; want fine", got, err)
	}
}

func TestRefusesWrite(t *testing.T) {
	dir := t.TempDir()
	_, addr := start(t, Config{Root: dir})
	c, err := tftp.NewClient(addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetTimeout(time.Second)
	rf, err := c.Send("new", "octet")
	if err == nil {
		_, err = rf.ReadFrom(strings.NewReader("data"))
	}
	if err == nil {
		t.Fatal("write request succeeded; want refused")
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); !os.IsNotExist(err) {
		t.Fatalf("write request created a file (stat: %v)", err)
	}
}

// rrq sends a read request and never acknowledges: an abandoned transfer.
func rrq(t *testing.T, addr, name string) {
	t.Helper()
	c, err := net.Dial("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	pkt := append([]byte{0, 1}, name...)
	pkt = append(pkt, 0)
	pkt = append(pkt, "octet\x00"...)
	if _, err := c.Write(pkt); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBoundedAndAbandoned(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), bytes.Repeat([]byte("x"), 100000), 0o644)
	s, addr := start(t, Config{Root: dir, MaxTransfers: 1, Timeout: 200 * time.Millisecond, Retries: 2})
	rrq(t, addr, "f")
	waitFor(t, "the abandoned transfer to start", 5*time.Second, func() bool { return s.Active() == 1 })
	if _, err := fetch(t, addr, "f", 0); err == nil || !strings.Contains(err.Error(), "busy") {
		t.Errorf("second transfer over the bound: err = %v, want server busy", err)
	}
	waitFor(t, "the abandoned transfer to be cleaned up", 5*time.Second, func() bool { return s.Active() == 0 })
	if got, err := fetch(t, addr, "f", 0); err != nil || len(got) != 100000 {
		t.Errorf("after cleanup: %d bytes, %v; want the file", len(got), err)
	}
}
