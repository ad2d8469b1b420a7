package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/installer/plan"
)

// The crash test runs the runner in a child process (this test binary, re-run
// with VELA_RUN_CHILD=1) and kills it with SIGKILL at every step boundary and
// in the middle of every step; then it reruns the child to completion and
// checks that the end state is the same as an uninterrupted run's and that
// every side effect happened exactly once.

func TestMain(m *testing.M) {
	if os.Getenv("VELA_RUN_CHILD") == "1" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

func crashPlan() plan.Plan {
	return plan.Plan{Name: "crash", Hash: "h1", Steps: []plan.Step{
		{ID: "images", Kind: "effect"},
		{ID: "secrets", Kind: "effect"},
		{ID: "boot-services", Kind: "service", Service: true},
		{ID: "machine-boot/a", Kind: "effect", Machine: "a"},
		{ID: "machine-boot/b", Kind: "effect", Machine: "b"},
		{ID: "health", Kind: "effect"},
	}}
}

func appendLine(path, line string) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		panic(err)
	}
	f.Sync()
}

func die() { syscall.Kill(os.Getpid(), syscall.SIGKILL); select {} }

func child() int {
	dir := os.Getenv("VELA_RUN_DIR")
	kill := os.Getenv("VELA_RUN_KILL") // "step-started:ID", "mid:ID", "step-done:ID" or ""
	logf := filepath.Join(dir, "log")
	effect := func(ctx context.Context, s plan.Step, r Reporter) error {
		appendLine(logf, "exec "+s.ID)
		// The idempotent side effect: made once, whatever happens.
		f, err := os.OpenFile(filepath.Join(dir, "effects", strings.ReplaceAll(s.ID, "/", "_")), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			appendLine(logf, "effect "+s.ID)
		} else if !errors.Is(err, os.ErrExist) {
			return err
		}
		if s.Machine != "" {
			r.Machine(s.Machine, "reported", "")
		}
		if kill == "mid:"+s.ID {
			die()
		}
		return nil
	}
	service := func(ctx context.Context, s plan.Step, r Reporter) error {
		appendLine(logf, "service-start")
		r.(Backgrounder).Background("svc", func(ctx context.Context) error { <-ctx.Done(); return nil })
		return nil
	}
	rn, err := New(Config{
		Plan: crashPlan(), StateDir: filepath.Join(dir, "state"),
		Executors: Executors{"effect": effect, "service": service},
		Emit: func(ev Event) {
			if kill != "" && kill == string(ev.Type)+":"+ev.Step {
				die()
			}
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := rn.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func runChild(t *testing.T, dir, kill string) error {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VELA_RUN_CHILD=1", "VELA_RUN_DIR="+dir, "VELA_RUN_KILL="+kill)
	out, err := cmd.CombinedOutput()
	if err != nil && len(out) > 0 {
		t.Logf("child (kill=%q): %s", kill, out)
	}
	return err
}

func readLog(t *testing.T, dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func count(lines []string, prefix string) map[string]int {
	m := map[string]int{}
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			m[rest]++
		}
	}
	return m
}

func finalState(t *testing.T, dir string) map[string]string {
	st, err := loadState(filepath.Join(dir, "state"))
	if err != nil || st == nil {
		t.Fatalf("no state: %v", err)
	}
	out := map[string]string{}
	for id, s := range st.Steps {
		out[id] = s.Status
	}
	for m, s := range st.Machines {
		out["machine "+m] = s.State
	}
	return out
}

func newDir(t *testing.T) string {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "effects"), 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCrashAtEveryBoundaryResumes(t *testing.T) {
	ref := newDir(t)
	if err := runChild(t, ref, ""); err != nil {
		t.Fatalf("uninterrupted run: %v", err)
	}
	want := finalState(t, ref)
	wantEffects := count(readLog(t, ref), "effect ")

	steps := crashPlan().Steps
	serviceAt := 2
	for i, s := range steps {
		for _, when := range []string{"step-started", "mid", "step-done"} {
			if when == "mid" && s.Service {
				continue
			}
			kill := when + ":" + s.ID
			t.Run(kill, func(t *testing.T) {
				dir := newDir(t)
				err := runChild(t, dir, kill)
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
					t.Fatalf("child was not killed at %s: %v", kill, err)
				}
				if err := runChild(t, dir, ""); err != nil {
					t.Fatalf("resumed run failed: %v", err)
				}
				if diff := cmp.Diff(want, finalState(t, dir)); diff != "" {
					t.Errorf("end state differs from an uninterrupted run (-want +got):\n%s", diff)
				}
				lines := readLog(t, dir)
				if diff := cmp.Diff(wantEffects, count(lines, "effect ")); diff != "" {
					t.Errorf("side effects not exactly once (-want +got):\n%s", diff)
				}
				// Steps finished before the kill never run again; the step
				// killed mid-way runs again (and its effect stays single).
				for id, n := range count(lines, "exec ") {
					wantN := 1
					if when == "mid" && id == s.ID {
						wantN = 2
					}
					if n != wantN {
						t.Errorf("step %s executed %d times, want %d", id, n, wantN)
					}
				}
				// The service step starts in every process that reaches it.
				wantStarts := 2
				if i < serviceAt || (i == serviceAt && when == "step-started") {
					wantStarts = 1
				}
				if n := count(lines, "service-start")[""]; n != wantStarts {
					t.Errorf("service started %d times, want %d", n, wantStarts)
				}
			})
		}
	}
}
