package bootlab

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
)

// GuestAddr is where the guest reaches the server.
const GuestAddr = "10.0.2.100"

// Report is a POST /report/{mac} body.
type Report struct {
	MAC    string
	State  string `json:"state"`
	Detail string `json:"detail"`
}

// Server is a minimal boot server on 127.0.0.1.
type Server struct {
	Port     int
	Reports  chan Report
	Evidence chan string
	files    map[string]string // URL path -> file path
	ignition []byte
	ln       net.Listener
	srv      *http.Server
	mu       sync.Mutex
	log      []string
}

// NewServer serves files (URL path -> local file) and the Ignition config
// at /ignition/ on a loopback port.
func NewServer(files map[string]string, ignition []byte) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Port: ln.Addr().(*net.TCPAddr).Port, Reports: make(chan Report, 16), Evidence: make(chan string, 16),
		files: files, ignition: ignition, ln: ln}
	s.srv = &http.Server{Handler: s}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Requests lists the requests served so far ("METHOD PATH STATUS").
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

func (s *Server) note(r *http.Request, status string) {
	s.mu.Lock()
	s.log = append(s.log, r.Method+" "+r.URL.Path+" "+status)
	s.mu.Unlock()
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/ignition/"):
		s.note(r, "200")
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.ignition)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/report/"):
		var rep Report
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&rep); err != nil {
			s.note(r, "400")
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rep.MAC = strings.TrimPrefix(r.URL.Path, "/report/")
		s.note(r, "204 "+rep.State)
		select {
		case s.Reports <- rep:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && r.URL.Path == "/evidence":
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		s.note(r, "204")
		select {
		case s.Evidence <- string(b):
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && s.files[r.URL.Path] != "":
		s.note(r, "200")
		http.ServeFile(w, r, s.files[r.URL.Path])
	default:
		s.note(r, "404")
		http.NotFound(w, r)
	}
}
