package store

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	raftwal "github.com/hashicorp/raft-wal"
)

// Names of the log stores inside the data dir.
const (
	walDir   = "raft-wal"
	boltFile = "raft.db"
)

// LogStores lists the accepted values of Config.LogStore.
var LogStores = []string{"wal", "bolt"}

func openLogStore(kind, dir string) (raft.LogStore, raft.StableStore, io.Closer, error) {
	switch kind {
	case "", "wal":
		p := filepath.Join(dir, walDir)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return nil, nil, nil, fmt.Errorf("create raft log dir %s: %w", p, err)
		}
		w, err := raftwal.Open(p)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("open raft log %s: %w (is another vela server using this data dir?)", p, err)
		}
		return w, w, w, nil
	case "bolt":
		p := filepath.Join(dir, boltFile)
		b, err := raftboltdb.NewBoltStore(p)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("open raft log %s: %w (is another vela server using this data dir?)", p, err)
		}
		return b, b, b, nil
	}
	return nil, nil, nil, fmt.Errorf("log store %q unknown; use wal or bolt", kind)
}
