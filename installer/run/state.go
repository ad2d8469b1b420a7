package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// StateFile is the name of the progress file in the state directory.
const StateFile = "progress.json"

// Step statuses in the progress file.
const (
	StatusRunning = "running" // started; a crash leaves it so, and the rerun runs it again
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// State is the persisted progress of an install.
type State struct {
	Version  int                    `json:"version"`
	PlanHash string                 `json:"plan_hash"`
	Started  time.Time              `json:"started"`
	Runs     int                    `json:"runs"` // how many times `vela install` ran on this state
	Steps    map[string]*StepState  `json:"steps"`
	Machines map[string]MachineSeen `json:"machines,omitempty"`
}

// StepState is one step's progress.
type StepState struct {
	Status   string    `json:"status"`
	Attempts int       `json:"attempts"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// MachineSeen is the last boot state reported for a machine.
type MachineSeen struct {
	State  string    `json:"state"`
	Detail string    `json:"detail,omitempty"`
	Time   time.Time `json:"time"`
}

func loadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("progress file %s is damaged (%v); move it away to start the install over", filepath.Join(dir, StateFile), err)
	}
	if s.Steps == nil {
		s.Steps = map[string]*StepState{}
	}
	return &s, nil
}

// save writes the state atomically: a temporary file in the same directory,
// fsync, rename over the old file, fsync the directory. A crash at any point
// leaves either the old or the new state, never a torn one.
func (s *State) save(dir string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, StateFile), b, 0o600)
}

// WriteFileAtomic replaces path with data so that readers and crashes see
// either the old content or the new, never a mix.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
