package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const clusterIDFile = "cluster-id"

// ErrOtherCluster is returned when a data dir belongs to another cluster.
var ErrOtherCluster = errors.New("data dir belongs to another cluster")

// ClusterID reads the cluster ID recorded in dir ("" if none yet).
func ClusterID(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, clusterIDFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read cluster id in %s: %w", dir, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// ClaimClusterID records id as the cluster of dir, or refuses if dir already
// belongs to another cluster (a stale data dir reused by mistake).
func ClaimClusterID(dir, id string) error {
	have, err := ClusterID(dir)
	if err != nil {
		return err
	}
	switch {
	case have == id:
		return nil
	case have != "":
		return fmt.Errorf("data dir %s holds cluster %s but this member is joining cluster %s: %w; move the old data dir away (or pass a fresh --data-dir) and join again", dir, have, id, ErrOtherCluster)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir %s: %w", dir, err)
	}
	return writeFileAtomic(filepath.Join(dir, clusterIDFile), []byte(id+"\n"), 0o600)
}

// writeFileAtomic writes via a temp file, fsync and rename.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}
