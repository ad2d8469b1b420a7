package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// EnvConfig names the context file to use instead of ~/.vela/config.json.
const EnvConfig = "VELA_CONFIG"

// Context is how `vela` reaches a control plane without flags, as a
// kubeconfig does for kubectl: the installer writes one for the operator
// who ran it. Flags and the environment win over it.
type Context struct {
	// Server is the API of a member, https://IP:8443.
	Server string `json:"server"`
	// CAFile is the cluster CA certificate.
	CAFile string `json:"ca_file"`
	// TokenFile holds an API token (0600).
	TokenFile string `json:"token_file,omitempty"`
}

// ContextPath is $VELA_CONFIG, else ~/.vela/config.json ("" without a home).
func ContextPath() string {
	if p := os.Getenv(EnvConfig); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".vela", "config.json")
}

// LoadContext reads a context file; ok is false when there is none.
func LoadContext(path string) (c Context, ok bool, err error) {
	if path == "" {
		return c, false, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("read the vela context %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, false, fmt.Errorf("the vela context %s is damaged (%v); remove it or rerun the installer's handover", path, err)
	}
	return c, true, nil
}

// WriteContext stores a context (0600, its directory 0700).
func WriteContext(path string, c Context) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write the vela context: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write the vela context: %w", err)
	}
	return os.Rename(tmp, path)
}
