package lab

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/vela-appliance/vela/installer/run"
)

// Owned lists what the lab created on this host; Down removes exactly it.
type Owned struct {
	Bridge   string     `json:"bridge,omitempty"`   // created by us
	Taps     []string   `json:"taps,omitempty"`     // created by us
	Iptables [][]string `json:"iptables,omitempty"` // rules we inserted (iptables args after -I/-D)
}

// ledger is the on-disk record of Owned, updated before each creation so
// that a crash right after creating something never forgets it.
type ledger struct {
	mu   sync.Mutex
	path string
	o    Owned
}

func openLedger(dir string) (*ledger, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	l := &ledger{path: filepath.Join(dir, "owned.json")}
	b, err := os.ReadFile(l.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return l, nil
	case err != nil:
		return nil, err
	}
	return l, json.Unmarshal(b, &l.o)
}

func (l *ledger) update(f func(o *Owned)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(&l.o)
	b, err := json.MarshalIndent(l.o, "", "  ")
	if err != nil {
		return err
	}
	return run.WriteFileAtomic(l.path, b, 0o600)
}

func (l *ledger) owned() Owned {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.o
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
