package e2e

import (
	"fmt"
	"os"
	"syscall"
)

// RoutesLock is the host-wide lock file every test or benchmark that runs
// real agents holds: an agent rewrites the host's VELA-ROUTES chains (one
// set per host), so two of them at once would undo each other's rules.
const RoutesLock = "/run/vela-test-routes.lock"

// LockHostRoutes blocks until this process holds RoutesLock; the lock goes
// with the returned file (close it, or exit). Keep the file reachable: an
// unreachable *os.File is closed by its finalizer, dropping the lock.
func LockHostRoutes() (*os.File, error) {
	f, err := os.OpenFile(RoutesLock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the host routes lock %s: %w", RoutesLock, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock the host routes (%s): %w", RoutesLock, err)
	}
	return f, nil
}
