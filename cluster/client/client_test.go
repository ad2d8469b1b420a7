package client

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir) // no ~/.vela/config.json of the machine's user
	ca := filepath.Join(dir, "ca.pem")
	tok := filepath.Join(dir, "token")
	os.WriteFile(ca, []byte("CA"), 0o644)
	os.WriteFile(tok, []byte("vapi.a.b\n"), 0o600)
	ctxFile, badCtx := filepath.Join(dir, "ctx", "config.json"), filepath.Join(dir, "bad.json")
	if err := WriteContext(ctxFile, Context{Server: "https://10.0.0.9:8443", CAFile: ca, TokenFile: tok}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(ctxFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("context file: %v %v, want mode 0600", st, err)
	}
	os.WriteFile(badCtx, []byte("{"), 0o600)
	tests := []struct {
		name                   string
		server, tokenFile, caF string
		env                    map[string]string
		wantServer, wantToken  string
		wantErr                bool
	}{
		{"flags", "https://10.0.0.1:8443", tok, ca, nil, "https://10.0.0.1:8443", "vapi.a.b", false},
		{"env", "", "", "", map[string]string{EnvServer: "10.0.0.2:8443", EnvToken: "vapi.c.d", EnvCA: ca}, "10.0.0.2:8443", "vapi.c.d", false},
		{"flags win", "10.0.0.3:8443", tok, ca, map[string]string{EnvServer: "x", EnvToken: "y"}, "10.0.0.3:8443", "vapi.a.b", false},
		{"no server", "", "", ca, nil, "", "", true},
		{"no ca", "10.0.0.1:8443", "", "", nil, "", "", true},
		{"missing token file", "10.0.0.1:8443", filepath.Join(dir, "nope"), ca, nil, "", "", true},
		{"context fills the rest", "", "", "", map[string]string{EnvConfig: ctxFile}, "https://10.0.0.9:8443", "vapi.a.b", false},
		{"env wins over context", "", "", "", map[string]string{EnvConfig: ctxFile, EnvServer: "10.0.0.4:8443", EnvToken: "vapi.e.f"}, "10.0.0.4:8443", "vapi.e.f", false},
		{"damaged context", "", "", "", map[string]string{EnvConfig: badCtx}, "", "", true},
		{"no context file", "", "", "", map[string]string{EnvConfig: filepath.Join(dir, "none.json")}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{EnvServer, EnvToken, EnvCA, EnvConfig} {
				t.Setenv(k, tt.env[k])
			}
			cfg, err := Resolve(tt.server, tt.tokenFile, tt.caF)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v", err)
			}
			if err == nil && (cfg.Server != tt.wantServer || cfg.Token != tt.wantToken) {
				t.Fatalf("got %q %q", cfg.Server, cfg.Token)
			}
		})
	}
}

func TestErrorsAndRetry(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		switch r.URL.Path {
		case "/v1/busy":
			if calls.Add(1) == 1 {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(503)
				w.Write([]byte(`{"error":"no leader","not_applied":true}`))
				return
			}
			w.Write([]byte(`{"id":"c1"}`))
		default:
			w.WriteHeader(400)
			w.Write([]byte(`{"error":"unknown field","field":"colour"}`))
		}
	}))
	defer srv.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	c, err := New(Config{Server: srv.URL, Token: "tok", CAPEM: caPEM, Retry: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ ID string }
	if err := c.Do(context.Background(), "GET", "/v1/busy", nil, &out); err != nil || out.ID != "c1" || calls.Load() != 2 {
		t.Fatalf("retry: %v %+v calls %d", err, out, calls.Load())
	}
	err = c.Do(context.Background(), "PUT", "/v1/x", map[string]string{"colour": "red"}, nil)
	e, ok := err.(*Error)
	if !ok || e.Status != 400 || e.Field != "colour" || StatusOf(err) != 400 {
		t.Fatalf("error: %#v", err)
	}
}
