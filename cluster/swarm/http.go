package swarm

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// APIVersion is the Engine API version used: Docker 20.10 (Debian 12's
// docker.io) speaks 1.41, and newer engines still accept it.
const APIVersion = "v1.41"

// HTTPEngine is an Engine reached over HTTP(S), e.g. https://10.0.0.5:2376.
type HTTPEngine struct {
	base   string
	client *http.Client
}

var _ Engine = (*HTTPEngine)(nil)

// NewHTTPEngine returns the Engine at endpoint ("https://HOST:2376"); tlsCfg
// carries the cluster CA and Vela's client certificate (nil for plain HTTP
// in tests over a unix socket or loopback). Every call has a deadline.
func NewHTTPEngine(endpoint string, tlsCfg *tls.Config, timeout time.Duration) *HTTPEngine {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	return &HTTPEngine{base: strings.TrimSuffix(endpoint, "/") + "/" + APIVersion, client: &http.Client{Transport: tr, Timeout: timeout}}
}

// NewUnixEngine returns the Engine listening on a unix socket.
func NewUnixEngine(socket string, timeout time.Duration) *HTTPEngine {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	return &HTTPEngine{base: "http://docker/" + APIVersion, client: &http.Client{Transport: tr, Timeout: timeout}}
}

// APIError is an error answer of the Engine.
type APIError struct {
	Status  int
	Message string
	Call    string
}

func (e *APIError) Error() string { return fmt.Sprintf("%s: %d %s", e.Call, e.Status, e.Message) }

func (e *HTTPEngine) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var m struct{ Message string }
		_ = json.Unmarshal(data, &m)
		if m.Message == "" {
			m.Message = strings.TrimSpace(string(data))
		}
		return &APIError{Status: resp.StatusCode, Message: m.Message, Call: method + " " + path}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decoding answer: %w", method, path, err)
		}
	}
	return nil
}

// Info implements Engine.
func (e *HTTPEngine) Info(ctx context.Context) (Info, error) {
	var i Info
	return i, e.do(ctx, http.MethodGet, "/info", nil, &i)
}

// Init implements Engine.
func (e *HTTPEngine) Init(ctx context.Context, req InitRequest) (string, error) {
	var id string
	return id, e.do(ctx, http.MethodPost, "/swarm/init", req, &id)
}

// Inspect implements Engine.
func (e *HTTPEngine) Inspect(ctx context.Context) (Swarm, error) {
	var s Swarm
	return s, e.do(ctx, http.MethodGet, "/swarm", nil, &s)
}

// Join implements Engine.
func (e *HTTPEngine) Join(ctx context.Context, req JoinRequest) error {
	return e.do(ctx, http.MethodPost, "/swarm/join", req, nil)
}

// Leave implements Engine.
func (e *HTTPEngine) Leave(ctx context.Context, force bool) error {
	return e.do(ctx, http.MethodPost, "/swarm/leave?force="+fmt.Sprint(force), nil, nil)
}

// Nodes implements Engine.
func (e *HTTPEngine) Nodes(ctx context.Context) ([]Node, error) {
	var n []Node
	return n, e.do(ctx, http.MethodGet, "/nodes", nil, &n)
}

// RemoveNode implements Engine.
func (e *HTTPEngine) RemoveNode(ctx context.Context, id string, force bool) error {
	return e.do(ctx, http.MethodDelete, "/nodes/"+url.PathEscape(id)+"?force="+fmt.Sprint(force), nil, nil)
}
