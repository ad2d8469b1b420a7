package bootlab

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestServer(t *testing.T) {
	f := filepath.Join(t.TempDir(), "rootfs")
	os.WriteFile(f, []byte("squash"), 0o644)
	s := &Server{Reports: make(chan Report, 1), Evidence: make(chan string, 1), files: map[string]string{"/images/vela-os/rootfs": f}, ignition: []byte(`{"ignition":{}}`)}
	do := func(method, path, body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader(body)))
		return w
	}
	if w := do("GET", "/images/vela-os/rootfs", ""); w.Code != 200 || w.Body.String() != "squash" {
		t.Errorf("rootfs: %d %q", w.Code, w.Body)
	}
	if w := do("GET", "/ignition/aa?token=t", ""); w.Body.String() != `{"ignition":{}}` {
		t.Errorf("ignition: %q", w.Body)
	}
	if w := do("POST", "/report/aa", `{"state":"failed","detail":"x"}`); w.Code != http.StatusNoContent {
		t.Errorf("report: %d", w.Code)
	}
	if diff := cmp.Diff(Report{MAC: "aa", State: "failed", Detail: "x"}, <-s.Reports); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if w := do("POST", "/report/aa", `not json`); w.Code != http.StatusBadRequest {
		t.Errorf("bad report: %d", w.Code)
	}
	do("POST", "/evidence", "seen")
	if e := <-s.Evidence; e != "seen" {
		t.Errorf("evidence %q", e)
	}
	if w := do("GET", "/etc/passwd", ""); w.Code != 404 {
		t.Errorf("unknown path: %d", w.Code)
	}
	if got := len(s.Requests()); got != 6 {
		t.Errorf("%d requests logged, want 6", got)
	}
}

func TestANSI(t *testing.T) {
	in := "[\x1b[0;32m  OK  \x1b[0m] Reached target \x1b[0;1;39mmulti-user.target\x1b[0m - Multi-User System."
	if got := ansiRE.ReplaceAllString(in, ""); got != "[  OK  ] Reached target multi-user.target - Multi-User System." {
		t.Errorf("got %q", got)
	}
}
