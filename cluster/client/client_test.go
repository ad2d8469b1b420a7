package client

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestErrorsAndRetry(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		switch r.URL.Path {
		case "/v1/cut":
			calls.Add(1)
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(503)
			w.Write([]byte(`{"error":"not committed: leadership lost while committing log; retry"}`))
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
	// A write that may have been applied is not sent again.
	calls.Store(0)
	if err := c.Do(context.Background(), "POST", "/v1/cut", map[string]int{"nodes": 1}, nil); StatusOf(err) != 503 || calls.Load() != 1 {
		t.Fatalf("an ambiguous write was retried: %v, %d calls", err, calls.Load())
	}
	// One refused before anything was proposed is.
	calls.Store(0)
	if err := c.Do(context.Background(), "PUT", "/v1/busy", map[string]int{"nodes": 1}, nil); err != nil || calls.Load() != 2 {
		t.Fatalf("a not-applied write was not retried: %v, %d calls", err, calls.Load())
	}
	err = c.Do(context.Background(), "PUT", "/v1/x", map[string]string{"colour": "red"}, nil)
	e, ok := err.(*Error)
	if !ok || e.Status != 400 || e.Field != "colour" || StatusOf(err) != 400 {
		t.Fatalf("error: %#v", err)
	}
}
