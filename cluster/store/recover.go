package store

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/vela-appliance/vela/cluster/fsm"
)

// Peer is one surviving member given to Recover.
type Peer struct {
	ID, RaftAddr string
}

// ParsePeers parses "id=ip:port,id=ip:port".
func ParsePeers(s string) ([]Peer, error) {
	var out []Peer
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, addr, ok := strings.Cut(part, "=")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("member %q: want ID=IP:PORT (the Raft address), as shown by `vela members ls`", part)
		}
		if seen[id] {
			return nil, fmt.Errorf("member %q given twice", id)
		}
		seen[id] = true
		out = append(out, Peer{ID: id, RaftAddr: addr})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no members given; list the surviving members as ID=IP:PORT,...")
	}
	return out, nil
}

// Recover rewrites the Raft configuration of a stopped member's data dir to
// exactly peers (the survivors), keeping every committed entry it holds. Run
// it on every survivor, with the same peers, while vela server is stopped
// there; then start them. See docs/runbooks/recover-quorum.md.
func Recover(logStore, dataDir, id string, peers []Peer) error {
	found := false
	conf := raft.Configuration{}
	for _, p := range peers {
		if p.ID == id {
			found = true
		}
		conf.Servers = append(conf.Servers, raft.Server{ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.RaftAddr), Suffrage: raft.Voter})
	}
	if !found {
		return fmt.Errorf("this member (%s) is not in the recovered member list; include it, or run recover on the members that are", id)
	}
	ok, err := HasState(logStore, dataDir)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("data dir %s holds no raft state (log store %s): nothing to recover; check --data-dir", dataDir, logStore)
	}
	logs, stable, closer, err := openLogStore(logStore, dataDir)
	if err != nil {
		return err
	}
	defer closer.Close()
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dataDir, SnapshotsRetained, hclog.NewNullLogger())
	if err != nil {
		return fmt.Errorf("open snapshots in %s: %w", dataDir, err)
	}
	_, trans := raft.NewInmemTransport(raft.ServerAddress(id))
	rc := raftConfig(Config{ID: id})
	if err := raft.RecoverCluster(rc, fsm.New(fsm.Config{}), logs, stable, snaps, trans, conf); err != nil {
		return fmt.Errorf("recover raft state in %s: %w", dataDir, err)
	}
	return nil
}
