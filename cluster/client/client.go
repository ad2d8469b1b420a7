package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vela-appliance/vela/cluster/pki"
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
	// moving) honouring Retry-After, for at most this long: reads and
	// idempotent writes (PUT, DELETE) always, a POST only when the server
	// says nothing was proposed (not_applied): one whose commit was cut
	// short may have been applied, and sending it again could, say, grow
	// a cluster twice.
	Retry   time.Duration
	Timeout time.Duration
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
		return nil, fmt.Errorf("the CA certificate for %s: %w; check --ca-file, %s or the profile's CA", cfg.Server, err, EnvCA)
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

// Error is one line: the reason the API gave (with the field at fault),
// the status, and for authentication failures what to do.
func (e *Error) Error() string {
	msg := oneLine(e.Msg)
	if msg == "" {
		msg = strings.ToLower(http.StatusText(e.Status))
	}
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	s := fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
	switch e.Status {
	case http.StatusUnauthorized:
		s += "; the token was refused: run `vela login` again, or check --token-file / " + EnvToken
	case http.StatusForbidden:
		s += "; this token may not do that: use a token with the right scope (an admin's, or the tenant's own)"
	}
	return s
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// decodeError turns a failed answer into *Error.
func decodeError(resp *http.Response, body []byte) *Error {
	e := &Error{Status: resp.StatusCode}
	if json.Unmarshal(body, e) != nil || e.Msg == "" {
		e.Msg = strings.TrimSpace(string(body))
		if len(e.Msg) > 300 {
			e.Msg = e.Msg[:300] + "..."
		}
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

// transportError explains a request that got no answer.
func (c *Client) transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the API at %s: %w", c.base, err)
	case errors.As(err, &unknownCA):
		return fmt.Errorf("the API at %s presents a certificate the CA does not trust; check the CA (--ca-file, %s, or the profile's)", c.base, EnvCA)
	case errors.As(err, &hostErr):
		return fmt.Errorf("the API at %s presents a certificate for another address (%v); use the address the member advertises", c.base, hostErr)
	}
	return fmt.Errorf("cannot reach the API at %s: %w; check the server (--server, %s, or the profile)", c.base, err, EnvURL)
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
		if c.cfg.Retry <= 0 || !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable || time.Now().Add(e.RetryAfter).After(deadline) ||
			(method == http.MethodPost && !e.NotApplied) {
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
		return c.transportError(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return decodeError(resp, b)
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
