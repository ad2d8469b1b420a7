package faults

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// vela builds the real vela binary once per test run.
func vela(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vela-faults-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "vela")
		buildOut, buildErr = exec.Command("go", "build", "-o", binPath, "github.com/vela-appliance/vela/cmd/vela").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build vela: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// faultKinds returns the faults this machine can inject; partitions need
// root and iptables, which CI has (missing there fails the test).
func faultKinds(t *testing.T) []string {
	kinds := []string{FaultKill, FaultPause}
	if os.Geteuid() == 0 && HaveIptables() {
		return append(kinds, FaultPartition)
	}
	if os.Getenv("CI") != "" {
		t.Fatal("partition faults need root and iptables, which CI must provide")
	}
	t.Log("not root or no iptables: running without partition faults")
	return kinds
}

func TestLinearizableUnderFaults(t *testing.T) {
	bin := vela(t)
	kinds := faultKinds(t)
	for _, tc := range []struct {
		members int
		seed    int64
	}{{3, 1}, {5, 2}} {
		t.Run(strings.Repeat("m", tc.members), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			dir := t.TempDir()
			rep, err := Run(ctx, RunConfig{Bin: bin, Dir: dir, Members: tc.members, Clients: 8, Keys: 10, Duration: 15 * time.Second, Seed: tc.seed, Faults: kinds, Log: t.Logf})
			t.Logf("report: %d ops, %d acked puts, %d unknown, %d unique acked, faults %v, result %s", rep.Ops, rep.Acked, rep.Unknown, rep.UniqueAcked, rep.Faults, rep.Result)
			t.Logf("unknown outcomes by error: %v", rep.UnknownErrors)
			if err != nil {
				logs(t, dir)
				t.Fatal(err)
			}
			if rep.Result != porcupine.Ok {
				logs(t, dir)
				t.Fatalf("history is not linearizable (%s); %s", rep.Result, keepEvidence(t, rep))
			}
			if len(rep.Missing) > 0 {
				t.Fatalf("acknowledged writes lost after healing: %v", rep.Missing)
			}
			if rep.Acked < 50 || rep.UniqueAcked < 5 {
				t.Fatalf("too little progress to mean anything: %d acked puts, %d unique", rep.Acked, rep.UniqueAcked)
			}
			total := 0
			for _, n := range rep.Faults {
				total += n
			}
			if total < 3 {
				t.Fatalf("only %d faults injected", total)
			}
		})
	}
}

func logs(t *testing.T, dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "m*.log"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if len(b) > 3000 {
			b = b[len(b)-3000:]
		}
		t.Logf("--- %s ---\n%s", filepath.Base(f), b)
	}
}

// keepEvidence copies the illegal keys' whole histories and porcupine's
// visualisation out of the test's temporary dir (removed after the test)
// and logs the start of each history.
func keepEvidence(t *testing.T, rep Report) string {
	keep, err := os.MkdirTemp("", "vela-faults-illegal-")
	if err != nil {
		return fmt.Sprintf("cannot keep the evidence: %v", err)
	}
	for i, k := range rep.Illegal {
		if err := os.WriteFile(filepath.Join(keep, fmt.Sprintf("key-%d.txt", i)), []byte(k), 0o644); err != nil {
			t.Log(err)
		}
		if len(k) > 4000 {
			k = k[:4000] + "\n..."
		}
		t.Log(k)
	}
	if b, err := os.ReadFile(rep.Viz); err == nil {
		_ = os.WriteFile(filepath.Join(keep, "history.html"), b, 0o644)
	}
	return "the illegal keys' histories and a visualisation (history.html) are kept in " + keep
}
