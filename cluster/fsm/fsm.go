package fsm

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/hashicorp/raft"
)

// Result is what Apply returns for one command (raft.ApplyFuture.Response).
type Result struct {
	Index uint64
	Value any
	Err   error
}

// FSM is the raft.FSM over State.
type FSM struct {
	mu    sync.RWMutex
	state *State
	log   *slog.Logger
	// OnApply, when set, is called after each applied entry (outside the lock)
	// with its index; the API uses it to wait for linearizable reads.
	onApply func(index uint64)
}

// Config configures an FSM.
type Config struct {
	Logger  *slog.Logger
	OnApply func(index uint64)
}

// New returns an FSM over an empty state.
func New(cfg Config) *FSM {
	l := cfg.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &FSM{state: NewState(), log: l, onApply: cfg.OnApply}
}

// View runs fn with the current state under the read lock. fn must not keep
// references to maps or slices of the state after it returns.
func (f *FSM) View(fn func(*State)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fn(f.state)
}

// Apply applies one committed log entry.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	res := f.ApplyEntry(l.Index, l.Data)
	if f.onApply != nil {
		f.onApply(l.Index)
	}
	return res
}

// ApplyEntry applies an encoded command at a log index; it is Apply without
// Raft, used by tests and by Apply itself.
func (f *FSM) ApplyEntry(index uint64, data []byte) Result {
	if len(data) == 0 {
		return Result{Index: index, Err: fmt.Errorf("log entry %d is empty", index)}
	}
	t := Type(data[0])
	h, ok := handlers[t&^IgnoreUnknown]
	if !ok {
		if t&IgnoreUnknown != 0 {
			f.log.Warn("skipping unknown command type marked ignorable", "type", uint8(t), "index", index)
			f.mu.Lock()
			f.state.LastIndex = index
			f.mu.Unlock()
			return Result{Index: index}
		}
		// Applying nothing would silently diverge from members that know
		// this type: stop instead, as an upgrade is needed.
		panic(fmt.Sprintf("vela fsm: log entry %d has command type %d, unknown to this version; upgrade this member to the version of the others", index, uint8(t)))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.LastIndex = index
	val, ev, err := h(f.state, index, data[1:])
	if err == nil && ev != nil {
		ev.Index = index
		tagCluster(f.state, ev)
		f.state.Events = append(f.state.Events, *ev)
		// Trim in chunks (copying 10000 events on every apply was the
		// bottleneck at 64 clients): keep between MaxEvents and 1.25x.
		if n := len(f.state.Events) - MaxEvents; n > MaxEvents/4 {
			f.state.Events = append(make([]Event, 0, MaxEvents+MaxEvents/4+1), f.state.Events[n:]...)
		}
	}
	return Result{Index: index, Value: val, Err: err}
}

// snapshotVersion is written first in every snapshot.
const snapshotVersion = 1

type snapshotFile struct {
	Version int    `json:"version"`
	State   *State `json:"state"`
}

// Snapshot takes a shallow copy of the state under the read lock (objects
// are values, replaced whole on update, never changed in place); Persist
// encodes it without holding the lock, so applies go on meanwhile.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	c := f.state.clone()
	f.mu.RUnlock()
	return &snapshot{state: c}, nil
}

// Restore builds a new state from a snapshot and swaps it in.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var sf snapshotFile
	dec := json.NewDecoder(rc)
	if err := dec.Decode(&sf); err != nil {
		return fmt.Errorf("decode state snapshot: %w", err)
	}
	if sf.Version != snapshotVersion || sf.State == nil {
		return fmt.Errorf("state snapshot has version %d, this member reads version %d; upgrade this member", sf.Version, snapshotVersion)
	}
	sf.State.fill()
	f.mu.Lock()
	f.state = sf.State
	idx := sf.State.LastIndex
	f.mu.Unlock()
	if f.onApply != nil {
		f.onApply(idx)
	}
	return nil
}

type snapshot struct{ state *State }

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode(snapshotFile{Version: snapshotVersion, State: s.state}); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("write state snapshot: %w", err)
	}
	return sink.Close()
}

func (s *snapshot) Release() {}
