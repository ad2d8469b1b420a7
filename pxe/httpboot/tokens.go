package httpboot

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/vela-appliance/vela/pxe/inventory"
)

// TokensFile is the file in the state directory holding the boot tokens (0600).
const TokensFile = "boot-tokens.json"

// Tokens holds one random boot token per machine. A token reaches its
// machine only inside the iPXE script's kernel arguments; Ignition and
// report requests must carry it back.
type Tokens struct {
	mu   sync.Mutex
	path string
	tok  map[string]string
}

// NewTokens loads the tokens kept in stateDir ("" keeps them in memory).
func NewTokens(stateDir string) (*Tokens, error) {
	t := &Tokens{tok: map[string]string{}}
	if stateDir == "" {
		return t, nil
	}
	t.path = filepath.Join(stateDir, TokensFile)
	b, err := os.ReadFile(t.path)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("boot tokens: %w", err)
	}
	if err := json.Unmarshal(b, &t.tok); err != nil {
		return nil, fmt.Errorf("boot tokens: %s is damaged (%v); delete it to issue new tokens (machines then need a reboot)", t.path, err)
	}
	return t, nil
}

// Get returns the machine's token, making (and persisting) one if needed.
func (t *Tokens) Get(machine string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tok, ok := t.tok[machine]; ok {
		return tok, nil
	}
	b := make([]byte, 24)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	t.tok[machine] = tok
	if t.path != "" {
		js, _ := json.MarshalIndent(t.tok, "", "  ")
		if err := inventory.WriteAtomic(t.path, js, 0o600); err != nil {
			delete(t.tok, machine)
			return "", fmt.Errorf("boot token for %q: %w", machine, err)
		}
	}
	return tok, nil
}

// Check tells, in constant time, whether tok is the machine's token.
func (t *Tokens) Check(machine, tok string) bool {
	t.mu.Lock()
	want, ok := t.tok[machine]
	t.mu.Unlock()
	return ok && tok != "" && subtle.ConstantTimeCompare([]byte(want), []byte(tok)) == 1
}
