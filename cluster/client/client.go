package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vela-appliance/vela/cluster/pki"
)

// Environment variables read when the matching flag is empty.
const (
	EnvServer = "VELA_SERVER" // https://IP:8443 or IP:8443
	EnvToken  = "VELA_TOKEN"  // the token itself
	EnvCA     = "VELA_CA"     // path of the cluster CA certificate
)

// Config configures a Client.
type Config struct {
	// Server is https://HOST:PORT or HOST:PORT.
	Server string
	// Token is the bearer token ("" for none).
	Token string
	// CAPEM is the cluster CA certificate.
	CAPEM []byte
	// Cert is presented as a client certificate (members, agents).
	Cert *tls.Certificate
	// Retry, when above zero, retries 503 answers (no leader, leadership
	// moving) honouring Retry-After, for at most this long.
	Retry   time.Duration
	Timeout time.Duration
}

// Resolve fills a Config from flag values, falling back to the
// environment: server (or VELA_SERVER), tokenFile (or VELA_TOKEN, the
// token itself) and caFile (or VELA_CA), then to the context file
// (ContextPath) for whatever is still missing.
func Resolve(server, tokenFile, caFile string) (Config, error) {
	cfg := Config{Server: server, Retry: 10 * time.Second}
	if cfg.Server == "" {
		cfg.Server = os.Getenv(EnvServer)
	}
	if caFile == "" {
		caFile = os.Getenv(EnvCA)
	}
	if cfg.Server == "" || caFile == "" || (tokenFile == "" && os.Getenv(EnvToken) == "") {
		cx, ok, err := LoadContext(ContextPath())
		if err != nil {
			return cfg, err
		}
		if ok {
			if cfg.Server == "" {
				cfg.Server = cx.Server
			}
			if caFile == "" {
				caFile = cx.CAFile
			}
			if tokenFile == "" && os.Getenv(EnvToken) == "" {
				tokenFile = cx.TokenFile
			}
		}
	}
	if cfg.Server == "" {
		return cfg, fmt.Errorf("no server: pass --server https://IP:8443, set %s, or write a context (%s; the installer writes one)", EnvServer, ContextPath())
	}
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return cfg, fmt.Errorf("read token file: %w", err)
		}
		cfg.Token = strings.TrimSpace(string(b))
	} else {
		cfg.Token = strings.TrimSpace(os.Getenv(EnvToken))
	}
	if caFile == "" {
		return cfg, fmt.Errorf("no CA certificate: pass --ca-file /etc/vela/ca.pem or set %s", EnvCA)
	}
	b, err := os.ReadFile(caFile)
	if err != nil {
		return cfg, fmt.Errorf("read CA certificate: %w", err)
	}
	cfg.CAPEM = b
	return cfg, nil
}

// Client calls one member's API.
type Client struct {
	cfg  Config
	base string
	http *http.Client
}

// New builds a client.
func New(cfg Config) (*Client, error) {
	pool, err := pki.Pool(cfg.CAPEM)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	base := strings.TrimSuffix(cfg.Server, "/")
	if !strings.Contains(base, "://") {
		base = "https://" + base
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	tr := &http.Transport{TLSClientConfig: pki.ClientTLS(pool, cfg.Cert), MaxIdleConnsPerHost: 128, IdleConnTimeout: time.Minute}
	return &Client{cfg: cfg, base: base, http: &http.Client{Transport: tr, Timeout: cfg.Timeout}}, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Error is an API error answer.
type Error struct {
	Status int    `json:"-"`
	Msg    string `json:"error"`
	Field  string `json:"field,omitempty"`
	// NotApplied: the server refused before proposing; a retry is safe.
	NotApplied bool `json:"not_applied,omitempty"`
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	s := fmt.Sprintf("HTTP %d: %s", e.Status, e.Msg)
	if e.Field != "" {
		s = fmt.Sprintf("HTTP %d: %s: %s", e.Status, e.Field, e.Msg)
	}
	return s
}

// StatusOf returns the HTTP status of an *Error (0 otherwise).
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// Do sends one request with in as the JSON body (nil: none) and decodes
// the answer into out (nil: discard).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = b
	}
	deadline := time.Now().Add(c.cfg.Retry)
	for {
		err := c.once(ctx, method, path, body, out)
		var e *Error
		if c.cfg.Retry <= 0 || !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable || time.Now().Add(e.RetryAfter).After(deadline) {
			return err
		}
		t := time.NewTimer(e.RetryAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (c *Client) once(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(b, e) != nil || e.Msg == "" {
			e.Msg = strings.TrimSpace(string(b))
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return e
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// BaseURL is the server's base URL, https://HOST:PORT.
func (c *Client) BaseURL() string { return c.base }
