package client

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadProfiles: the profile file is the user's; any content loads or
// is refused with an error, never a panic, and what loads saves and loads
// again the same.
func FuzzLoadProfiles(f *testing.F) {
	f.Add([]byte("current: a\nprofiles:\n  a:\n    server: https://10.0.0.11:8443\n    token: t\n    ca_pem: |\n      x\n"))
	f.Add([]byte("profiles: [\n"))
	f.Add([]byte(""))
	f.Add([]byte("current: zz\n"))
	f.Add([]byte("profiles: {a: null}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		ps, err := LoadProfiles(p)
		if err != nil {
			return
		}
		q := filepath.Join(dir, "again", "config.yaml")
		if err := ps.Save(q); err != nil {
			t.Fatal(err)
		}
		again, err := LoadProfiles(q)
		if err != nil || again.Current != ps.Current || len(again.Profiles) != len(ps.Profiles) {
			t.Fatalf("round trip: %v %+v vs %+v", err, again, ps)
		}
	})
}
