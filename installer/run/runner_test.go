package run

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/installer/plan"
)

func testPlan() plan.Plan {
	return plan.Plan{Name: "t", Hash: "h", Steps: []plan.Step{
		{ID: "one", Kind: "ok", Title: "first"},
		{ID: "two", Kind: "flaky", Title: "second"},
		{ID: "three", Kind: "ok", Title: "third"},
	}}
}

type recorder struct{ events []Event }

func (r *recorder) emit(ev Event) { r.events = append(r.events, ev) }

func (r *recorder) types() []string {
	var out []string
	for _, ev := range r.events {
		s := string(ev.Type)
		if ev.Step != "" {
			s += " " + ev.Step
		}
		out = append(out, s)
	}
	return out
}

func fixedClock() func() time.Time {
	t := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

func TestFailureThenResume(t *testing.T) {
	dir := t.TempDir()
	fail := true
	ran := map[string]int{}
	ex := Executors{
		"ok": func(ctx context.Context, s plan.Step, r Reporter) error { ran[s.ID]++; return nil },
		"flaky": func(ctx context.Context, s plan.Step, r Reporter) error {
			ran[s.ID]++
			if fail {
				return Failf("plug in the cable, then run again", "machine b did not answer")
			}
			return nil
		},
	}
	rec := &recorder{}
	rn, err := New(Config{Plan: testPlan(), Executors: ex, StateDir: dir, Emit: rec.emit, Now: fixedClock()})
	if err != nil {
		t.Fatal(err)
	}
	err = rn.Run(context.Background())
	var se *StepError
	if !errors.As(err, &se) || se.Step != "two" || se.Next != "plug in the cable, then run again" {
		t.Fatalf("want step two to fail with its next action, got %v", err)
	}
	if diff := cmp.Diff([]string{"plan", "step-started one", "step-done one", "step-started two",
		"step-failed two", "run-failed two"}, rec.types()); diff != "" {
		t.Error(diff)
	}
	st, _ := loadState(dir)
	if st.Steps["two"].Status != StatusFailed || !strings.Contains(st.Steps["two"].Error, "did not answer") {
		t.Errorf("failed step not recorded: %+v", st.Steps["two"])
	}

	fail = false
	rec2 := &recorder{}
	rn, _ = New(Config{Plan: testPlan(), Executors: ex, StateDir: dir, Emit: rec2.emit, Now: fixedClock()})
	if err := rn.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"plan", "step-skipped one", "step-started two", "step-done two",
		"step-started three", "step-done three", "run-done"}, rec2.types()); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff(map[string]int{"one": 1, "two": 2, "three": 1}, ran); diff != "" {
		t.Error(diff)
	}
	if rec2.events[2].Message != "attempt 2" {
		t.Errorf("retry not marked: %+v", rec2.events[2])
	}
}

func TestMissingExecutors(t *testing.T) {
	_, err := New(Config{Plan: testPlan(), Executors: Executors{"ok": nil}})
	var me *MissingExecutorsError
	if !errors.As(err, &me) || !cmp.Equal(me.Kinds, []string{"flaky", "ok"}) {
		t.Fatalf("got %v", err)
	}
}

func okExecutors() Executors {
	ok := func(context.Context, plan.Step, Reporter) error { return nil }
	return Executors{"ok": ok, "flaky": ok}
}

func TestConfigChangedIsRefused(t *testing.T) {
	dir := t.TempDir()
	rn, _ := New(Config{Plan: testPlan(), Executors: okExecutors(), StateDir: dir})
	if err := rn.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := testPlan()
	p.Hash = "other"
	rn, _ = New(Config{Plan: p, Executors: okExecutors(), StateDir: dir})
	if err := rn.Run(context.Background()); !errors.Is(err, ErrConfigChanged) || !strings.Contains(err.Error(), "--state-dir") {
		t.Fatalf("got %v", err)
	}
}

func TestStateDirLocked(t *testing.T) {
	dir := t.TempDir()
	release, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	rn, _ := New(Config{Plan: testPlan(), Executors: okExecutors(), StateDir: dir})
	err = rn.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "another vela install (pid ") {
		t.Fatalf("got %v", err)
	}
}

func TestCancelStopsAndResumes(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ex := okExecutors()
	ex["flaky"] = func(ctx context.Context, s plan.Step, r Reporter) error {
		cancel() // the operator presses Ctrl-C during this step
		<-ctx.Done()
		return ctx.Err()
	}
	rn, _ := New(Config{Plan: testPlan(), Executors: ex, StateDir: dir})
	err := rn.Run(ctx)
	var se *StepError
	if !errors.As(err, &se) || !strings.Contains(se.Next, "resumes at this step") {
		t.Fatalf("got %v", err)
	}
	rn, _ = New(Config{Plan: testPlan(), Executors: okExecutors(), StateDir: dir})
	if err := rn.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestBackgroundFailureStopsRun(t *testing.T) {
	dir := t.TempDir()
	started := make(chan struct{})
	ex := okExecutors()
	ex["ok"] = func(ctx context.Context, s plan.Step, r Reporter) error {
		if s.ID == "one" {
			r.(Backgrounder).Background("boot services", func(ctx context.Context) error {
				<-started
				return errors.New("port 67 taken")
			})
			return nil
		}
		return nil
	}
	ex["flaky"] = func(ctx context.Context, s plan.Step, r Reporter) error {
		close(started)
		<-ctx.Done() // a long wait, ended by the failing service
		return nil
	}
	rn, _ := New(Config{Plan: testPlan(), Executors: ex, StateDir: dir})
	err := rn.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "boot services stopped: port 67 taken") {
		t.Fatalf("got %v", err)
	}
}

func TestStateFileIsPrivateAndAtomic(t *testing.T) {
	dir := t.TempDir()
	rn, _ := New(Config{Plan: testPlan(), Executors: okExecutors(), StateDir: dir})
	if err := rn.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, StateFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	os.WriteFile(filepath.Join(dir, StateFile), []byte("{"), 0o600)
	rn, _ = New(Config{Plan: testPlan(), Executors: okExecutors(), StateDir: dir})
	if err := rn.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "is damaged") {
		t.Fatalf("got %v", err)
	}
}

func TestTextAndJSONLines(t *testing.T) {
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	events := []Event{
		{Time: at, Type: EventPlan, Total: 3, Message: "lab"},
		{Time: at, Type: EventStepStarted, Step: "images", Index: 1, Total: 3, Title: "build vela-os"},
		{Time: at, Type: EventProgress, Step: "images", Index: 1, Total: 3, Done: 10 << 20, Of: 100 << 20, Unit: "bytes"},
		{Time: at, Type: EventProgress, Step: "images", Index: 1, Total: 3, Done: 12 << 20, Of: 100 << 20, Unit: "bytes"},
		{Time: at, Type: EventProgress, Step: "images", Index: 1, Total: 3, Done: 50 << 20, Of: 100 << 20, Unit: "bytes"},
		{Time: at, Type: EventStepDone, Step: "images", Index: 1, Total: 3, Elapsed: Duration(1500 * time.Millisecond)},
		{Time: at, Type: EventMachine, Machine: "lab-1", State: "kernel-fetched"},
		{Time: at, Type: EventStepFailed, Step: "health", Index: 3, Total: 3, Error: "lab-2: no answer", Next: "check the VM", Elapsed: Duration(time.Second)},
		{Time: at, Type: EventRunFailed, Step: "health"},
	}
	var text bytes.Buffer
	emit := TextLines(&text)
	for _, ev := range events {
		emit(ev)
	}
	want := `2026-11-26T12:00:00Z install "lab": 3 steps
2026-11-26T12:00:00Z [1/3] images: build vela-os
2026-11-26T12:00:00Z [1/3] images: 10.0 MiB of 100.0 MiB (10%)
2026-11-26T12:00:00Z [1/3] images: 50.0 MiB of 100.0 MiB (50%)
2026-11-26T12:00:00Z [1/3] images: done in 1.5s
2026-11-26T12:00:00Z machine lab-1: kernel-fetched
2026-11-26T12:00:00Z [3/3] health: FAILED after 1s: lab-2: no answer
2026-11-26T12:00:00Z [3/3] health: next: check the VM
2026-11-26T12:00:00Z install stopped at health; run the same command again to resume
`
	if diff := cmp.Diff(want, text.String()); diff != "" {
		t.Error(diff)
	}
	var js bytes.Buffer
	JSONLines(&js)(events[5])
	if got := js.String(); got != `{"time":"2026-11-26T12:00:00Z","type":"step-done","step":"images","index":1,"total":3,"elapsed":"1.5s"}`+"\n" {
		t.Errorf("json line: %s", got)
	}
}
