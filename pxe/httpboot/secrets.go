package httpboot

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
)

// secretNameRE is what a one-time secret's file name may be.
var secretNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,63}$`)

// secret serves SecretsDir/<machine>/<name> once, to that machine only
// (the same MAC, boot token and lease checks as its Ignition config), and
// removes it once sent: a secret that must not sit in a config (the
// bootstrap member's CA key) is handed over after boot and forgotten.
// A second request gets 410 Gone.
func (s *Server) secret(w *recorder, r *http.Request) {
	if s.cfg.SecretsDir == "" {
		http.NotFound(w, r)
		return
	}
	name := r.PathValue("name")
	if !secretNameRE.MatchString(name) {
		http.Error(w, "bad secret name", http.StatusBadRequest)
		return
	}
	m, _, ok := s.authorize(w, r)
	if !ok {
		return
	}
	root, err := os.OpenRoot(filepath.Join(s.cfg.SecretsDir, m.Name))
	if errors.Is(err, fs.ErrNotExist) {
		http.Error(w, "no secret "+name+" for this machine", http.StatusNotFound)
		return
	}
	if err != nil {
		s.log.Error("secrets dir", "machine", m.Name, "err", err)
		http.Error(w, "secrets unavailable; retry", http.StatusServiceUnavailable)
		return
	}
	defer root.Close()
	b, err := root.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		if _, gone := root.Stat(name + ".sent"); gone == nil {
			s.log.Warn("one-time secret requested again", "machine", m.Name, "secret", name)
			http.Error(w, "secret "+name+" was already handed over to this machine; it is not served twice", http.StatusGone)
			return
		}
		http.Error(w, "no secret "+name+" for this machine", http.StatusNotFound)
		return
	}
	if err != nil {
		s.log.Error("read secret", "machine", m.Name, "secret", name, "err", err)
		http.Error(w, "secret unreadable; retry", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	if _, err := w.Write(b); err != nil {
		return // not delivered: keep it for a retry
	}
	// Delivered: forget the secret, keep a marker so a second request is
	// told why it gets nothing.
	if err := root.WriteFile(name+".sent", nil, 0o600); err == nil {
		err = root.Remove(name)
	}
	if err != nil {
		s.log.Error("forget a handed-over secret", "machine", m.Name, "secret", name, "err", err)
	}
	s.log.Info("one-time secret handed over", "machine", m.Name, "secret", name)
}
