package httpboot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretServedOnceToItsMachine(t *testing.T) {
	f := newFixture(t)
	tok1, tok2 := tokenOf(t, f, mac1), tokenOf(t, f, mac2)
	dir := filepath.Join(f.dir, "secrets", "m1")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca-key.pem"), []byte("KEY"), 0o600); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name, target string
		code         int
		body         string
	}{
		{"no token", "/secrets/" + mac1 + "/ca-key.pem", 403, "token"},
		{"other machine's token", "/secrets/" + mac1 + "/ca-key.pem?token=" + tok2, 403, "token"},
		{"other machine asks", "/secrets/" + mac2 + "/ca-key.pem?token=" + tok2, 404, "no secret"},
		{"bad name", "/secrets/" + mac1 + "/.hidden?token=" + tok1, 400, "bad secret name"},
		{"unknown name", "/secrets/" + mac1 + "/other.pem?token=" + tok1, 404, "no secret"},
		{"its machine", "/secrets/" + mac1 + "/ca-key.pem?token=" + tok1, 200, "KEY"},
		{"asked twice", "/secrets/" + mac1 + "/ca-key.pem?token=" + tok1, 410, "already handed over"},
	}
	for _, s := range steps {
		w := f.do("GET", s.target, "", "")
		if w.Code != s.code || !strings.Contains(w.Body.String(), s.body) {
			t.Errorf("%s: %d %q; want %d containing %q", s.name, w.Code, w.Body, s.code, s.body)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ca-key.pem")); !os.IsNotExist(err) {
		t.Errorf("the secret is still on disk after hand-over: %v", err)
	}
}
