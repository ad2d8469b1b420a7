package authz

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// PluginName is the name dockerd knows the plugin by
// (--authorization-plugin=vela); its socket is PluginDir/PluginName.sock.
const (
	PluginName = "vela"
	PluginDir  = "/run/docker/plugins"
)

// maxBody bounds what the plugin reads of one request.
const maxBody = 8 << 20

// Handler serves Docker's plugin protocol for the authz interface.
func Handler(log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /Plugin.Activate", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string][]string{"Implements": {"authz"}})
	})
	mux.HandleFunc("POST /AuthZPlugin.AuthZReq", func(w http.ResponseWriter, r *http.Request) {
		var req Request
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil {
			writeJSON(w, Response{Allow: false, Err: "vela authz: bad request: " + err.Error()})
			return
		}
		resp := Decide(req)
		if !resp.Allow {
			log.Info("refused", "method", req.RequestMethod, "uri", req.RequestURI, "why", resp.Msg)
		}
		writeJSON(w, resp)
	})
	mux.HandleFunc("POST /AuthZPlugin.AuthZRes", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, Response{Allow: true})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/vnd.docker.plugins.v1.2+json")
	_ = json.NewEncoder(w).Encode(v)
}

// Serve listens on socket and serves the plugin until ctx ends.
func Serve(ctx context.Context, socket string, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(filepath.Dir(socket), 0o755); err != nil {
		return err
	}
	_ = os.Remove(socket)
	l, err := net.Listen("unix", socket)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: Handler(log), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
