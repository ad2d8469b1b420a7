package client

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadContext: a context file is the user's; any content loads or is
// refused with an error, never a panic.
func FuzzLoadContext(f *testing.F) {
	f.Add([]byte(`{"server":"https://10.0.0.11:8443","ca_file":"/ca.pem","token_file":"/t"}`))
	f.Add([]byte(`{`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"server":1}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "config.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		c, ok, err := LoadContext(p)
		if err == nil && !ok {
			t.Fatalf("an existing file loaded as absent: %+v", c)
		}
	})
}
