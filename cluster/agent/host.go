package agent

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// What the agent learns of its host: free disk, kernel, memory.

func freeBytes(dir string) uint64 {
	var st syscall.Statfs_t
	if dir == "" || syscall.Statfs(dir, &st) != nil {
		return 0
	}
	return st.Bavail * uint64(st.Bsize)
}

func kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}

// memTotal reads MemTotal from /proc/meminfo, or 0.
func memTotal() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		var kib uint64
		if _, err := fmt.Sscanf(l, "MemTotal: %d kB", &kib); err == nil {
			return kib * 1024
		}
	}
	return 0
}

// nodeMemory is the memory this hypervisor offers nodes: the machine's,
// less the host's reserve, times the overcommit ratio.
func (a *Agent) nodeMemory() uint64 {
	if a.host.MemoryBytes <= a.cfg.ReservedMemory {
		return 0
	}
	return uint64(float64(a.host.MemoryBytes-a.cfg.ReservedMemory) * a.cfg.MemoryOvercommit)
}
