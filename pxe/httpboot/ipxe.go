package httpboot

import (
	"net/http"
	"path/filepath"
)

// IPXEFiles are the iPXE binaries served at /ipxe/{file} (the same files
// TFTP serves firmware): members fetch them with Ignition to serve day-2
// boot (vela-os has no ipxe package). Only these names are served.
var IPXEFiles = []string{"undionly.kpxe", "snponly.efi"}

// IPXEURLPath is the boot server path prefix of the iPXE binaries.
const IPXEURLPath = "/ipxe/"

func (s *Server) ipxe(w *recorder, r *http.Request) {
	file := r.PathValue("file")
	known := false
	for _, f := range IPXEFiles {
		known = known || f == file
	}
	if s.cfg.IPXEDir == "" || !known {
		http.NotFound(w, r)
		return
	}
	s.serveFile(w, r, filepath.Join(s.cfg.IPXEDir, file), "application/octet-stream")
}
