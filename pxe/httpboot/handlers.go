package httpboot

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/vela-appliance/vela/pxe"
)

// MaxReportBody bounds a boot report.
const MaxReportBody = 64 << 10

func (s *Server) bootScript(w *recorder, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	if q.Get("mac") == "" {
		w.Write(render("chain", script{Base: s.cfg.BaseURL}))
		return
	}
	c := client(r, q.Get("mac"))
	if c.MAC == "" {
		http.Error(w, "bad mac: write it like 52:54:00:12:34:56 or 52-54-00-12-34-56", http.StatusBadRequest)
		return
	}
	w.mac = c.MAC
	m, err := s.cfg.Inventory.Lookup(r.Context(), c)
	if errors.Is(err, pxe.ErrUnknown) {
		if err := s.cfg.Inventory.Discover(r.Context(), c); err != nil {
			s.log.Warn("recording a discovered machine failed", "mac", c.MAC, "err", err)
		}
		s.cfg.OnState("", c.MAC, pxe.StateIPXELoaded, "unknown machine: recorded as discovered")
		w.Write(render("unknown", script{Base: s.cfg.BaseURL, MAC: c.MAC}))
		return
	}
	if err != nil {
		http.Error(w, "inventory unavailable; retry", http.StatusServiceUnavailable)
		return
	}
	w.machine = m.Name
	if !s.fromLeaseHolder(c) {
		s.forbid(w, m.Name, c, "script request from an address that does not hold this MAC's lease")
		return
	}
	if m.Installed {
		s.cfg.OnState(m.Name, c.MAC, pxe.StateIPXELoaded, "installed: booting from disk")
		w.Write(render("disk", script{Base: s.cfg.BaseURL, MAC: c.MAC, Name: m.Name}))
		return
	}
	args, err := s.kernelArgs(m, c.MAC)
	if err != nil {
		s.log.Error("cannot make a boot script", "machine", m.Name, "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.cfg.OnState(m.Name, c.MAC, pxe.StateIPXELoaded, "")
	w.Write(render("boot", script{Base: s.cfg.BaseURL, MAC: c.MAC, Name: m.Name, Image: m.Image, Args: args}))
}

// kernelArgs builds the kernel command line of machine m booting over mac.
func (s *Server) kernelArgs(m pxe.Machine, mac string) (string, error) {
	img, ok := s.cfg.Images[m.Image]
	if !ok {
		return "", fmt.Errorf("image %q of machine %q is not available on this boot server; build or import it", m.Image, m.Name)
	}
	tok := m.BootToken
	if tok == "" {
		var err error
		if tok, err = s.cfg.Tokens.Get(m.Name); err != nil {
			return "", err
		}
	}
	b := s.cfg.BaseURL
	ign := fmt.Sprintf("%s/ignition/%s?token=%s", b, mac, tok)
	args := []string{"ignition.config.url=" + ign, fmt.Sprintf("vela.report=%s/report/%s?token=%s", b, mac, tok)}
	if img.Rootfs != "" {
		sum, err := s.sha256(img.Rootfs)
		if err != nil {
			return "", err
		}
		root := fmt.Sprintf("%s/images/%s/rootfs", b, m.Image)
		args = append(args, "vela.rootfs="+root, "vela.rootfs_sha256="+sum)
		if m.Image == "fcos" {
			args = append(args, "coreos.live.rootfs_url="+root)
		}
	}
	if m.Image == "fcos" {
		args = append(args, "ignition.firstboot", "ignition.platform.id=metal")
		if m.Disk != "" {
			args = append(args, "coreos.inst.install_dev="+m.Disk, "coreos.inst.ignition_url="+ign)
		}
	} else if m.Disk != "" {
		args = append(args, "vela.install_dev="+m.Disk)
	}
	if m.KernelArgs != "" {
		args = append(args, m.KernelArgs)
	}
	return strings.Join(args, " "), nil
}

// sha256 hashes a rootfs once; the file is replaced only with a restart.
func (s *Server) sha256(path string) (string, error) {
	if v, ok := s.sums.Load(path); ok {
		return v.(string), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("rootfs: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("rootfs %s: %w", path, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	s.sums.Store(path, sum)
	return sum, nil
}

func (s *Server) image(w *recorder, r *http.Request) {
	img, ok := s.cfg.Images[r.PathValue("image")]
	var path string
	switch file := r.PathValue("file"); {
	case !ok:
	case file == "kernel":
		path = img.Kernel
	case file == "initramfs":
		path = img.Initramfs
	case file == "rootfs":
		path = img.Rootfs
	}
	if path == "" {
		http.NotFound(w, r)
		return
	}
	if mac := r.URL.Query().Get("mac"); mac != "" && r.PathValue("file") == "kernel" && r.Header.Get("Range") == "" {
		c := client(r, mac)
		if m, err := s.cfg.Inventory.Lookup(r.Context(), c); err == nil {
			w.machine, w.mac = m.Name, c.MAC
			defer func() {
				if w.code == http.StatusOK {
					s.cfg.OnState(m.Name, c.MAC, pxe.StateKernelFetched, "")
				}
			}()
		}
	}
	s.serveFile(w, r, path, "application/octet-stream")
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, path, ctype string) {
	f, err := os.Open(path)
	if err != nil {
		s.log.Error("boot file missing", "path", path, "err", err)
		http.Error(w, "file missing on the boot server", http.StatusNotFound)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.Error(w, "not a file", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", ctype)
	http.ServeContent(w, r, filepath.Base(path), st.ModTime(), f)
}

func (s *Server) forbid(w *recorder, machine string, c pxe.Client, why string) {
	s.log.Warn("request refused", "machine", machine, "mac", c.MAC, "remote", c.IP, "reason", why)
	http.Error(w, "forbidden: "+why, http.StatusForbidden)
}

// authorize finds the machine of a /ignition or /report request and checks
// its token; it answers the request itself when it returns false.
func (s *Server) authorize(w *recorder, r *http.Request) (pxe.Machine, pxe.Client, bool) {
	c := client(r, r.PathValue("mac"))
	if c.MAC == "" {
		http.Error(w, "bad mac", http.StatusBadRequest)
		return pxe.Machine{}, c, false
	}
	w.mac = c.MAC
	m, err := s.cfg.Inventory.Lookup(r.Context(), c)
	if err != nil {
		s.forbid(w, "", c, "unknown machine")
		return m, c, false
	}
	w.machine = m.Name
	if !s.checkToken(m, r.URL.Query().Get("token")) {
		s.forbid(w, m.Name, c, "missing or wrong boot token")
		return m, c, false
	}
	if !s.fromLeaseHolder(c) {
		s.forbid(w, m.Name, c, "request from an address that does not hold this MAC's lease")
		return m, c, false
	}
	return m, c, true
}

func (s *Server) ignition(w *recorder, r *http.Request) {
	m, c, ok := s.authorize(w, r)
	if !ok {
		return
	}
	var b []byte
	if s.cfg.Configs != nil {
		var err error
		if b, err = s.cfg.Configs.Config(r.Context(), m); err != nil {
			s.log.Error("no ignition config", "machine", m.Name, "err", err)
			http.Error(w, "cannot render this machine's config now: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	} else {
		path := filepath.Join(s.cfg.IgnitionDir, m.Name+".ign")
		var err error
		if b, err = os.ReadFile(path); err != nil {
			s.log.Error("ignition config missing", "machine", m.Name, "path", path, "err", err)
			http.Error(w, "no rendered config for this machine; render it with the installer", http.StatusNotFound)
			return
		}
	}
	w.Header().Set("Content-Type", "application/vnd.coreos.ignition+json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
	s.cfg.OnState(m.Name, c.MAC, pxe.StateConfigFetched, "")
}

// checkToken tells, in constant time, whether tok is m's boot token: the
// inventory's when it keeps one, else the boot server's own.
func (s *Server) checkToken(m pxe.Machine, tok string) bool {
	if m.BootToken != "" {
		return tok != "" && subtle.ConstantTimeCompare([]byte(m.BootToken), []byte(tok)) == 1
	}
	return s.cfg.Tokens.Check(m.Name, tok)
}

func (s *Server) velaBinary(w *recorder, r *http.Request) {
	if s.cfg.VelaBinary == "" {
		http.NotFound(w, r)
		return
	}
	s.serveFile(w, r, s.cfg.VelaBinary, "application/octet-stream")
}

// Report is the body a booted machine POSTs to /report/{mac}.
type Report struct {
	State  string `json:"state"` // booted, installed (written to its disk) or failed
	Detail string `json:"detail,omitempty"`
}

// ParseReport decodes and checks a report body.
func ParseReport(body io.Reader) (Report, error) {
	var rep Report
	dec := json.NewDecoder(io.LimitReader(body, MaxReportBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		return rep, fmt.Errorf("report body is not {\"state\":...,\"detail\":...}: %w", err)
	}
	if rep.State != "booted" && rep.State != "installed" && rep.State != "failed" {
		return rep, fmt.Errorf("report state %q: want booted, installed or failed", rep.State)
	}
	if len(rep.Detail) > 4096 {
		rep.Detail = rep.Detail[:4096]
	}
	return rep, nil
}

func (s *Server) report(w *recorder, r *http.Request) {
	m, c, ok := s.authorize(w, r)
	if !ok {
		return
	}
	rep, err := ParseReport(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if rep.State == "failed" {
		s.cfg.OnState(m.Name, c.MAC, pxe.StateFailed, rep.Detail)
	} else {
		if m.Disk != "" {
			if err := s.cfg.Inventory.MarkInstalled(r.Context(), m.Name); err != nil {
				s.log.Error("recording an installed machine failed", "machine", m.Name, "err", err)
			}
		}
		s.cfg.OnState(m.Name, c.MAC, pxe.StateReported, rep.Detail)
	}
	w.WriteHeader(http.StatusNoContent)
}
