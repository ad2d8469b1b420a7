package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
)

// MaxBody is the largest request body the API reads.
const MaxBody = 1 << 20

// apiError is the JSON error body of every failed request.
type apiError struct {
	Status int    `json:"-"`
	Msg    string `json:"error"`
	Field  string `json:"field,omitempty"`
	// RetryAfter, in seconds, is sent as the Retry-After header.
	RetryAfter int `json:"-"`
	// NotApplied is true when the request was refused before anything was
	// proposed, so a write may be retried without risk of applying twice.
	NotApplied bool `json:"not_applied,omitempty"`
}

func (e *apiError) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Msg
	}
	return e.Msg
}

func errf(status int, field, format string, a ...any) *apiError {
	return &apiError{Status: status, Field: field, Msg: fmt.Sprintf(format, a...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeErr(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{Status: http.StatusInternalServerError, Msg: err.Error()}
	}
	if ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(ae.RetryAfter))
	}
	writeJSON(w, ae.Status, ae)
}

var unknownField = regexp.MustCompile(`^json: unknown field "([^"]*)"$`)

// decode reads a JSON body of at most MaxBody bytes into v, refusing
// unknown fields and trailing data; errors name the field at fault.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return errf(http.StatusUnsupportedMediaType, "", "content type %q: send application/json", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.More() {
			return errf(http.StatusBadRequest, "", "body holds more than one JSON value; send exactly one object")
		}
		if _, err := dec.Token(); err != io.EOF {
			return errf(http.StatusBadRequest, "", "body holds data after the JSON object")
		}
		return nil
	}
	return decodeError(err)
}

func decodeError(err error) error {
	var (
		mbe *http.MaxBytesError
		ute *json.UnmarshalTypeError
		se  *json.SyntaxError
	)
	switch {
	case errors.As(err, &mbe):
		return errf(http.StatusRequestEntityTooLarge, "", "body exceeds the limit of %d bytes", mbe.Limit)
	case errors.As(err, &ute):
		return errf(http.StatusBadRequest, ute.Field, "want a JSON %s, got %s", ute.Type.Kind(), ute.Value)
	case errors.As(err, &se):
		return errf(http.StatusBadRequest, "", "malformed JSON at byte %d: %v", se.Offset, se)
	case errors.Is(err, io.EOF):
		return errf(http.StatusBadRequest, "", "empty body; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errf(http.StatusBadRequest, "", "truncated JSON body")
	}
	if m := unknownField.FindStringSubmatch(err.Error()); m != nil {
		return errf(http.StatusBadRequest, m[1], "unknown field; see /v1/openapi.json for the fields of this request")
	}
	return errf(http.StatusBadRequest, "", "malformed JSON: %v", err)
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// checkName validates a name used as a key (a DNS label).
func checkName(field, s string) error {
	if !dnsLabel.MatchString(s) {
		return errf(http.StatusBadRequest, field, "%q is not a DNS label (lowercase letters, digits and '-', 1 to 63 characters)", s)
	}
	return nil
}

// checkLen bounds a free-text field.
func checkLen(field, s string, max int) error {
	if len(s) > max {
		return errf(http.StatusBadRequest, field, "%d bytes long; at most %d", len(s), max)
	}
	return nil
}

// checkLabels bounds a label map.
func checkLabels(field string, m map[string]string) error {
	if len(m) > 64 {
		return errf(http.StatusBadRequest, field, "%d labels; at most 64", len(m))
	}
	for k, v := range m {
		if err := checkLen(field+"."+k, k, 63); err != nil {
			return err
		}
		if k == "" {
			return errf(http.StatusBadRequest, field, "empty label key")
		}
		if err := checkLen(field+"."+k, v, 256); err != nil {
			return err
		}
	}
	return nil
}
