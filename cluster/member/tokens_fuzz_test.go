package member

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzTokenRecords: the --join-tokens and --api-tokens files come from the
// operator or the installer; any content is read or refused, never a
// panic, and what is accepted passes the checks.
func FuzzTokenRecords(f *testing.F) {
	f.Add([]byte(`[{"id":"a","hash":"0123456789012345678901234567890123456789012345678901234567890123","role":"member","expires":"2030-01-01T00:00:00Z"}]`))
	f.Add([]byte(`[{"id":"a","hash":"0123456789012345678901234567890123456789012345678901234567890123","scope":"admin"}]`))
	f.Add([]byte(`[`))
	f.Add([]byte(`[{}]`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "records.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if toks, err := readJoinTokens(p); err == nil {
			for _, tk := range toks {
				if tk.ID == "" || len(tk.Hash) != 64 || tk.Expires.IsZero() {
					t.Fatalf("accepted a join token record that fails the checks: %+v", tk)
				}
			}
		}
		if toks, err := readAPITokens(p); err == nil {
			for _, tk := range toks {
				if tk.ID == "" || len(tk.Hash) != 64 {
					t.Fatalf("accepted an API token record that fails the checks: %+v", tk)
				}
			}
		}
	})
}
