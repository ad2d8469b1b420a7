package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/vela-appliance/vela/cluster/fsm"
)

// Snapshot and compaction thresholds (see docs/control-plane.md): a snapshot
// is taken when 8192 entries were applied since the last one, checked every
// 2 minutes; 10240 entries are kept behind it so a briefly lagging follower
// catches up from the log rather than by a snapshot transfer; 3 snapshots are
// retained.
const (
	SnapshotThreshold = 8192
	SnapshotInterval  = 2 * time.Minute
	TrailingLogs      = 10240
	SnapshotsRetained = 3
)

// Config configures a Store.
type Config struct {
	DataDir string
	// ID is this member's Raft server ID.
	ID string
	// Transport carries Raft RPCs (NewTLSTransport in production,
	// raft.NewInmemTransport in unit tests).
	Transport raft.Transport
	FSM       *fsm.FSM
	// LogStore is "wal" (default) or "bolt".
	LogStore string
	Logger   *slog.Logger
	// Timeouts; zero picks the defaults tuned for a LAN: 600 ms heartbeat
	// and election timeouts and leader lease (a follower starts an election
	// 0.6 to 1.2 s after the leader went silent; shorter leases made leaders
	// step down on a 2-core machine under a load of 10).
	HeartbeatTimeout time.Duration
	ElectionTimeout  time.Duration
}

// Store is one member's Raft node.
type Store struct {
	cfg    Config
	raft   *raft.Raft
	logs   raft.LogStore
	closer io.Closer
	log    *slog.Logger
	// readyTerm is the last term in which this leader committed a barrier.
	readyTerm atomic.Uint64
}

// ErrNotLeader is returned by leader-only operations on a follower.
var ErrNotLeader = errors.New("this member is not the leader")

func raftConfig(cfg Config) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.HeartbeatTimeout = 600 * time.Millisecond
	rc.ElectionTimeout = 600 * time.Millisecond
	rc.LeaderLeaseTimeout = 600 * time.Millisecond
	if cfg.HeartbeatTimeout > 0 {
		rc.HeartbeatTimeout = cfg.HeartbeatTimeout
		rc.LeaderLeaseTimeout = cfg.HeartbeatTimeout
	}
	if cfg.ElectionTimeout > 0 {
		rc.ElectionTimeout = cfg.ElectionTimeout
	}
	rc.CommitTimeout = 5 * time.Millisecond
	rc.SnapshotThreshold = SnapshotThreshold
	rc.SnapshotInterval = SnapshotInterval
	rc.TrailingLogs = TrailingLogs
	rc.BatchApplyCh = true
	rc.MaxAppendEntries = 256
	rc.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: os.Stderr})
	return rc
}

// Open opens (or creates) the member's Raft state in cfg.DataDir and starts
// Raft. A fresh data dir has no configuration until Bootstrap or until a
// leader adds this member.
func Open(cfg Config) (*Store, error) {
	if cfg.ID == "" || cfg.DataDir == "" || cfg.Transport == nil || cfg.FSM == nil {
		return nil, errors.New("store: ID, DataDir, Transport and FSM are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", cfg.DataDir, err)
	}
	logs, stable, closer, err := openLogStore(cfg.LogStore, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, SnapshotsRetained, hclog.New(&hclog.LoggerOptions{Name: "snapshot", Level: hclog.Warn}))
	if err != nil {
		closer.Close()
		return nil, fmt.Errorf("open snapshot store in %s: %w", cfg.DataDir, err)
	}
	r, err := raft.NewRaft(raftConfig(cfg), cfg.FSM, logs, stable, snaps, cfg.Transport)
	if err != nil {
		closer.Close()
		return nil, fmt.Errorf("start raft in %s: %w", cfg.DataDir, err)
	}
	return &Store{cfg: cfg, raft: r, logs: logs, closer: closer, log: cfg.Logger}, nil
}

// HasState tells whether dir already holds Raft state (a member that ran
// before): then it restarts from it and must not bootstrap or join again.
func HasState(logStore, dir string) (bool, error) {
	p := filepath.Join(dir, walDir)
	if logStore == "bolt" {
		p = filepath.Join(dir, boltFile)
	}
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	logs, stable, closer, err := openLogStore(logStore, dir)
	if err != nil {
		return false, err
	}
	defer closer.Close()
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, SnapshotsRetained, hclog.NewNullLogger())
	if err != nil {
		return false, err
	}
	return raft.HasExistingState(logs, stable, snaps)
}

// Bootstrap makes this member the only voter of a new cluster. It fails if
// the data dir already holds state.
func (s *Store) Bootstrap() error {
	conf := raft.Configuration{Servers: []raft.Server{{ID: raft.ServerID(s.cfg.ID), Address: s.cfg.Transport.LocalAddr(), Suffrage: raft.Voter}}}
	if err := s.raft.BootstrapCluster(conf).Error(); err != nil {
		return fmt.Errorf("bootstrap %s in %s: %w", s.cfg.ID, s.cfg.DataDir, err)
	}
	return nil
}

// Raft exposes the underlying node for status and observers.
func (s *Store) Raft() *raft.Raft { return s.raft }

// ID is this member's server ID.
func (s *Store) ID() string { return s.cfg.ID }

// IsLeader tells whether this member leads.
func (s *Store) IsLeader() bool { return s.raft.State() == raft.Leader }

// Leader returns the leader's Raft address and ID as known here ("" if none).
func (s *Store) Leader() (addr, id string) {
	a, i := s.raft.LeaderWithID()
	return string(a), string(i)
}

// WaitLeader waits until a leader is known, polling until ctx ends.
func (s *Store) WaitLeader(ctx context.Context) (addr, id string, err error) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if a, i := s.Leader(); a != "" {
			return a, i, nil
		}
		select {
		case <-ctx.Done():
			return "", "", fmt.Errorf("no leader known to member %s: %w", s.cfg.ID, ctx.Err())
		case <-t.C:
		}
	}
}

// Apply proposes an encoded command on the leader and waits until it is
// applied here. The error is about Raft (not leader, timeout, shutdown); the
// command's own refusal is in Result.Err.
func (s *Store) Apply(ctx context.Context, cmd []byte) (fsm.Result, error) {
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	f := s.raft.Apply(cmd, timeout)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			// ErrNotLeader: never enqueued. ErrLeadershipLost: may still commit.
			return fsm.Result{}, fmt.Errorf("%w: %w", ErrNotLeader, err)
		}
		return fsm.Result{}, fmt.Errorf("commit on member %s: %w", s.cfg.ID, err)
	}
	r, _ := f.Response().(fsm.Result)
	return r, nil
}

// ReadIndex makes a read linearizable: on the leader it confirms leadership
// with a quorum and returns the commit index the reader must wait for.
// A new leader learns the true commit index only once an entry of its own
// term commits, so the first read of each term waits for a barrier.
func (s *Store) ReadIndex(ctx context.Context) (uint64, error) {
	if !s.IsLeader() {
		return 0, ErrNotLeader
	}
	if term := s.raft.CurrentTerm(); s.readyTerm.Load() != term {
		timeout := 5 * time.Second
		if dl, ok := ctx.Deadline(); ok {
			timeout = time.Until(dl)
		}
		if err := s.raft.Barrier(timeout).Error(); err != nil {
			return 0, fmt.Errorf("%w: barrier of term %d: %w", ErrNotLeader, term, err)
		}
		s.readyTerm.Store(term)
	}
	idx := s.raft.CommitIndex()
	if err := s.raft.VerifyLeader().Error(); err != nil {
		return 0, fmt.Errorf("%w (%v)", ErrNotLeader, err)
	}
	return idx, nil
}

// AppliedIndex is the last index applied to the FSM here.
func (s *Store) AppliedIndex() uint64 { return s.raft.AppliedIndex() }

// AddMember adds a server as a voter (or a non-voter) on the leader.
func (s *Store) AddMember(ctx context.Context, id, addr string, voter bool) error {
	var f raft.IndexFuture
	if voter {
		f = s.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, 10*time.Second)
	} else {
		f = s.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(addr), 0, 10*time.Second)
	}
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			return ErrNotLeader
		}
		return fmt.Errorf("add member %s at %s: %w", id, addr, err)
	}
	return nil
}

// RemoveMember removes a server from the configuration on the leader.
func (s *Store) RemoveMember(ctx context.Context, id string) error {
	if err := s.raft.RemoveServer(raft.ServerID(id), 0, 10*time.Second).Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			return ErrNotLeader
		}
		return fmt.Errorf("remove member %s: %w", id, err)
	}
	return nil
}

// Servers returns the current Raft configuration.
func (s *Store) Servers() ([]raft.Server, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("read raft configuration: %w", err)
	}
	return f.Configuration().Servers, nil
}

// Voters counts the voters in the configuration.
func (s *Store) Voters() (int, error) {
	srv, err := s.Servers()
	n := 0
	for _, v := range srv {
		if v.Suffrage == raft.Voter {
			n++
		}
	}
	return n, err
}

// Shutdown stops Raft. A leader first hands leadership to another voter
// (bounded by ctx) so the cluster does not wait an election timeout.
func (s *Store) Shutdown(ctx context.Context) error {
	if s.IsLeader() {
		if n, _ := s.Voters(); n > 1 {
			done := make(chan error, 1)
			go func() { done <- s.raft.LeadershipTransfer().Error() }()
			select {
			case err := <-done:
				if err != nil {
					s.log.Warn("leadership transfer before shutdown failed; the others elect a leader after a timeout", "err", err)
				} else {
					s.log.Info("leadership transferred before shutdown")
				}
			case <-ctx.Done():
				s.log.Warn("leadership transfer before shutdown timed out")
			}
		}
	}
	err := s.raft.Shutdown().Error()
	if cerr := s.closer.Close(); err == nil {
		err = cerr
	}
	if c, ok := s.cfg.Transport.(io.Closer); ok {
		_ = c.Close()
	}
	return err
}
