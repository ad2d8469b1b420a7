package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// usage samples a stack's processes (and their children): CPU seconds and
// the peak of their summed resident memory.
type usage struct {
	mu      sync.Mutex
	roots   []int
	cpu0    float64
	cpu     float64
	peakRSS int64 // bytes
	stop    chan struct{}
	done    chan struct{}
}

const clkTck = 100.0 // USER_HZ on Linux

func family(roots []int) []int {
	isRoot := map[int]bool{}
	for _, r := range roots {
		isRoot[r] = true
	}
	out := append([]int(nil), roots...)
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		f := statFields(d)
		if len(f) > 2 {
			if pp, _ := strconv.Atoi(f[1]); isRoot[pp] {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
				out = append(out, pid)
			}
		}
	}
	return out
}

// statFields returns the fields after the command name: [state ppid ...].
func statFields(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

func sample(roots []int) (cpu float64, rss int64) {
	for _, pid := range family(roots) {
		f := statFields("/proc/" + strconv.Itoa(pid) + "/stat")
		if len(f) > 22 {
			ut, _ := strconv.ParseFloat(f[11], 64)
			st, _ := strconv.ParseFloat(f[12], 64)
			cpu += (ut + st) / clkTck
			pages, _ := strconv.ParseInt(f[21], 10, 64)
			rss += pages * int64(os.Getpagesize())
		}
	}
	return
}

func startUsage(roots []int) *usage {
	u := &usage{roots: roots, stop: make(chan struct{}), done: make(chan struct{})}
	u.cpu0, u.peakRSS = sample(roots)
	go func() {
		defer close(u.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-u.stop:
				return
			case <-t.C:
				cpu, rss := sample(u.roots)
				u.mu.Lock()
				u.cpu = cpu
				u.peakRSS = max(u.peakRSS, rss)
				u.mu.Unlock()
			}
		}
	}()
	return u
}

// finish returns CPU seconds used since start and the peak RSS in MiB.
func (u *usage) finish() (float64, float64) {
	cpu, rss := sample(u.roots)
	close(u.stop)
	<-u.done
	u.mu.Lock()
	defer u.mu.Unlock()
	return max(cpu, u.cpu) - u.cpu0, float64(max(rss, u.peakRSS)) / (1 << 20)
}
