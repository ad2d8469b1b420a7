package httpboot

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/vela-appliance/vela/pxe/pxetest"
)

// TestIPXEFiles: /ipxe/ serves the two iPXE binaries DHCP hands out, from
// IPXEDir, and nothing else there.
func TestIPXEFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"undionly.kpxe", "snponly.efi", "secret.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("bin "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	toks, err := NewTokens(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ipxeDir, path string
		code          int
	}{
		{dir, "/ipxe/undionly.kpxe", 200},
		{dir, "/ipxe/snponly.efi", 200},
		{dir, "/ipxe/secret.txt", 404},
		{dir, "/ipxe/..%2fsecret.txt", 404},
		{dir, "/ipxe/ipxe.efi", 404},
		{"", "/ipxe/undionly.kpxe", 404},
	} {
		srv, err := New(Config{Inventory: &pxetest.Inventory{}, Tokens: toks, BaseURL: "http://10.0.0.1", IPXEDir: tc.ipxeDir})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		resp, err := http.Get(ts.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ts.Close()
		if resp.StatusCode != tc.code || (tc.code == 200 && string(b) != "bin "+filepath.Base(tc.path)) {
			t.Errorf("GET %s (dir %q): %d %q, want %d", tc.path, tc.ipxeDir, resp.StatusCode, b, tc.code)
		}
	}
}
