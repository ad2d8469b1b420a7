package client

import (
	"context"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/pki"
)

// TestErrorLines: whatever goes wrong, the error is one line that says the
// reason (the API's, or why no answer came) and what to do.
func TestErrorLines(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/401":
			w.WriteHeader(401)
			w.Write([]byte(`{"error":"unknown token"}`))
		case "/v1/403":
			w.WriteHeader(403)
			w.Write([]byte(`{"error":"tenant acme may not read tenant beta"}`))
		case "/v1/409":
			w.WriteHeader(409)
			w.Write([]byte(`{"error":"quota: tenant acme owns 3 clusters\nof at most 3; remove one","field":"nodes"}`))
		case "/v1/502":
			w.WriteHeader(502)
			w.Write([]byte("<html>\n<body>bad gateway</body>\n</html>"))
		default:
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	ok, err := New(Config{Server: srv.URL, CAPEM: caPEM})
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := pki.GenerateCA("another cluster", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wrongCA, _ := New(Config{Server: srv.URL, CAPEM: otherCA.CertPEM})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	refused, _ := New(Config{Server: closed, CAPEM: caPEM, Timeout: 2 * time.Second})
	tests := []struct {
		name string
		c    *Client
		path string
		want []string
	}{
		{"401", ok, "/v1/401", []string{"unknown token (HTTP 401)", "vela login"}},
		{"403", ok, "/v1/403", []string{"tenant acme may not read tenant beta (HTTP 403)"}},
		{"reason with field, folded", ok, "/v1/409", []string{"nodes: quota: tenant acme owns 3 clusters of at most 3; remove one (HTTP 409)"}},
		{"non-JSON body", ok, "/v1/502", []string{"<html> <body>bad gateway</body> </html> (HTTP 502)"}},
		{"empty body", ok, "/v1/500", []string{"internal server error (HTTP 500)"}},
		{"unknown CA", wrongCA, "/v1/x", []string{"certificate the CA does not trust", "--ca-file"}},
		{"refused", refused, "/v1/x", []string{"cannot reach the API at https://" + closed, "connection refused", "VELA_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Do(context.Background(), "GET", tt.path, nil, nil)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("more than one line: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
		})
	}
}
