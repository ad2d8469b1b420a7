package progress

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/installer/run"
	"github.com/vela-appliance/vela/tui"
)

var update = flag.Bool("update", false, "rewrite the golden frames under testdata/")

// recorded reads an event stream as `vela install --output json` writes it.
func recorded(t *testing.T, name string) []run.Event {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []run.Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev run.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func plainModel(w, h int) Model {
	m := New(tui.NewStyles(tui.NewRenderer(io.Discard, true)), nil)
	m.width, m.height = w, h
	return m
}

func feed(m Model, evs []run.Event) Model {
	for _, ev := range evs {
		next, _ := m.Update(EventMsg(ev))
		m = next.(Model)
	}
	return m
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("frame %s differs (-want +got):\n%s", name, diff)
	}
}

// checkFrame: a frame never exceeds the window.
func checkFrame(t *testing.T, frame string, w, h int) {
	t.Helper()
	lines := strings.Split(frame, "\n")
	if len(lines) > h {
		t.Errorf("frame has %d lines, window is %d", len(lines), h)
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			t.Errorf("line %d is %d wide, window is %d: %q", i+1, ansi.StringWidth(l), w, l)
		}
	}
}

func TestRecordedStreamFrames(t *testing.T) {
	ok := recorded(t, "lab-run.jsonl")
	failed := recorded(t, "lab-failed.jsonl")
	at := func(evs []run.Event, step string, typ run.EventType) int {
		for i, ev := range evs {
			if ev.Step == step && ev.Type == typ {
				return i + 1
			}
		}
		t.Fatalf("no %s event for %s", typ, step)
		return 0
	}
	cases := []struct {
		name string
		evs  []run.Event
	}{
		{"empty", nil},
		{"images", ok[:at(ok, "images", "step-progress")+1]},
		{"booting", ok[:at(ok, "machine-boot/lab-2", "step-progress")+1]},
		{"done", ok},
		{"failed", failed},
	}
	for _, c := range cases {
		for _, size := range [][2]int{{80, 24}, {120, 40}} {
			name := fmt.Sprintf("%s-%dx%d", c.name, size[0], size[1])
			t.Run(name, func(t *testing.T) {
				m := feed(plainModel(size[0], size[1]), c.evs)
				frame := m.View()
				checkFrame(t, frame, size[0], size[1])
				golden(t, name, frame)
			})
		}
	}
}

func TestRecordedStreamState(t *testing.T) {
	m := feed(plainModel(80, 24), recorded(t, "lab-run.jsonl"))
	if !m.Finished || m.Failed != nil {
		t.Fatalf("finished=%v failed=%v, want a finished run", m.Finished, m.Failed)
	}
	if f, total := m.Counts(); f != 21 || total != 21 {
		t.Errorf("counts %d/%d, want 21/21", f, total)
	}
	var states []string
	for _, s := range m.Steps[:3] {
		states = append(states, s.ID+"="+s.State)
	}
	if diff := cmp.Diff([]string{"lab-network=skipped", "images=done", "secrets=done"}, states); diff != "" {
		t.Errorf("step states (-want +got):\n%s", diff)
	}
	var machines []string
	for _, mc := range m.Machines {
		machines = append(machines, mc.Name+"="+mc.State)
	}
	if diff := cmp.Diff([]string{"lab-1=registered", "lab-2=registered", "lab-3=registered"}, machines); diff != "" {
		t.Errorf("machines (-want +got):\n%s", diff)
	}

	f := feed(plainModel(80, 24), recorded(t, "lab-failed.jsonl"))
	if f.Failed == nil || f.Failed.Step != "machine-boot/lab-2" {
		t.Fatalf("failed = %+v, want the run stopped at machine-boot/lab-2", f.Failed)
	}
	if got := f.Machines[1]; got.State != "failed" {
		t.Errorf("lab-2 = %+v, want failed", got)
	}
	if !strings.Contains(f.View(), "Run the same `vela install` again to resume.") {
		t.Errorf("failed frame does not say how to resume:\n%s", f.View())
	}
}

// TestStepsInPlanOrder: rows sit by index even when events skip ahead.
func TestStepsInPlanOrder(t *testing.T) {
	m := feed(plainModel(80, 24), []run.Event{
		{Type: run.EventStepStarted, Step: "c", Index: 3, Total: 3},
		{Type: run.EventStepStarted, Step: "a", Index: 1, Total: 3},
		{Type: run.EventStepDone, Step: "b", Index: 2, Total: 3},
	})
	var ids []string
	for _, s := range m.Steps {
		ids = append(ids, s.ID)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, ids); diff != "" {
		t.Error(diff)
	}
}

func keyMsg(s string) tea.KeyMsg {
	switch s {
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "end":
		return tea.KeyMsg{Type: tea.KeyEnd}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

func press(m Model, keys ...string) (Model, []tea.Cmd) {
	var cmds []tea.Cmd
	for _, k := range keys {
		next, cmd := m.Update(keyMsg(k))
		m = next.(Model)
		cmds = append(cmds, cmd)
	}
	return m, cmds
}

func TestQuitAsksAndCancels(t *testing.T) {
	cancelled := 0
	base := New(tui.NewStyles(tui.NewRenderer(io.Discard, true)), func() { cancelled++ })
	base = feed(base, recorded(t, "lab-run.jsonl")[:10])

	m, _ := press(base, "q")
	if !m.confirm || !strings.Contains(m.View(), "Stop the install?") {
		t.Fatalf("q did not ask:\n%s", m.View())
	}
	m, _ = press(m, "n")
	if m.confirm || m.stopping {
		t.Fatal("n did not take the question back")
	}
	m, cmds := press(m, "ctrl+c", "y")
	if !m.stopping {
		t.Fatal("y did not stop")
	}
	if cmds[1] == nil {
		t.Fatal("y returned no command")
	}
	cmds[1]()
	if cancelled != 1 {
		t.Fatalf("cancel called %d times, want 1", cancelled)
	}
	// The runner answers a cancel with step-failed and run-failed: the view closes.
	next, cmd := m.Update(EventMsg(run.Event{Type: run.EventRunFailed, Step: "images", Next: "run again"}))
	if cmd == nil || next.(Model).Failed == nil {
		t.Fatal("run-failed after a stop did not close the view")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("run-failed did not quit the program")
	}
}

func TestLogScroll(t *testing.T) {
	m := plainModel(80, 24)
	var evs []run.Event
	for i := 1; i <= 50; i++ {
		evs = append(evs, run.Event{Type: run.EventLog, Step: "images", Message: fmt.Sprintf("line %02d", i)})
	}
	m = feed(m, evs)
	if !strings.Contains(m.View(), "line 50") {
		t.Fatalf("log does not follow the end:\n%s", m.View())
	}
	m, _ = press(m, "up", "up", "up")
	if m.scroll != 3 || strings.Contains(m.View(), "line 50") || !strings.Contains(m.View(), "line 47") {
		t.Fatalf("scroll=%d; after 3 ups the last line shown should be 47:\n%s", m.scroll, m.View())
	}
	m, _ = press(m, "end")
	if m.scroll != 0 {
		t.Fatalf("end left scroll at %d", m.scroll)
	}
	m, _ = press(m, "down")
	if m.scroll != 0 {
		t.Fatalf("down below the end gave scroll %d", m.scroll)
	}
}

func TestResizeKeepsFrameInWindow(t *testing.T) {
	m := feed(plainModel(80, 24), recorded(t, "lab-run.jsonl")[:40])
	for _, size := range [][2]int{{80, 24}, {60, 15}, {40, 12}, {200, 60}} {
		next, _ := m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m = next.(Model)
		checkFrame(t, m.View(), size[0], size[1])
	}
}

func TestLogBounded(t *testing.T) {
	var log []string
	for i := 0; i < MaxLogLines+10; i++ {
		log = appendLog(log, "x")
	}
	if len(log) != MaxLogLines {
		t.Fatalf("log holds %d lines, want %d", len(log), MaxLogLines)
	}
}

// TestProgramHeadless runs the real program without a renderer, fed through
// the channel by Emit as the runner does, and checks what it ended with.
func TestProgramHeadless(t *testing.T) {
	evs := recorded(t, "lab-run.jsonl")
	var out bytes.Buffer
	v := Start(Config{Out: &out, Headless: true, Plain: true, Buffer: 1})
	for _, ev := range evs {
		v.Emit(ev)
	}
	final, err := v.Wait()
	if err != nil {
		t.Fatal(err)
	}
	want := feed(plainModel(80, 24), evs)
	if diff := cmp.Diff(want.Steps, final.Steps); diff != "" {
		t.Errorf("steps differ from the fold (-want +got):\n%s", diff)
	}
	if !final.Finished {
		t.Error("program ended without seeing run-done")
	}
	v.Emit(run.Event{Type: run.EventLog}) // after Wait: dropped, not blocked or panicking
}

// TestProgramClosesWithoutEvents: Wait with no run (the install refused to
// start) closes the view.
func TestProgramClosesWithoutEvents(t *testing.T) {
	v := Start(Config{Out: io.Discard, Headless: true})
	if _, err := v.Wait(); err != nil {
		t.Fatal(err)
	}
}
