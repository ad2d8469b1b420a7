package run

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// JSONLines returns an Emit func writing one JSON object per event and line.
func JSONLines(w io.Writer) func(Event) {
	enc := json.NewEncoder(w)
	return func(ev Event) { _ = enc.Encode(ev) }
}

// TextLines returns an Emit func writing one readable, timestamped line per
// event, for logs and terminals without the TUI. Progress is printed when it
// crosses a tenth of the whole (or, with no known total, every 64 MiB or 10
// units), so a long download stays a few lines.
func TextLines(w io.Writer) func(Event) {
	last := map[string]int64{}
	return func(ev Event) {
		ts := ev.Time.UTC().Format(time.RFC3339)
		pos := ""
		if ev.Index > 0 {
			pos = fmt.Sprintf("[%d/%d] ", ev.Index, ev.Total)
		}
		switch ev.Type {
		case EventPlan:
			fmt.Fprintf(w, "%s install %q: %d steps\n", ts, ev.Message, ev.Total)
		case EventStepStarted:
			extra := ""
			if ev.Message != "" {
				extra = " (" + ev.Message + ")"
			}
			fmt.Fprintf(w, "%s %s%s: %s%s\n", ts, pos, ev.Step, ev.Title, extra)
		case EventStepSkipped:
			fmt.Fprintf(w, "%s %s%s: already %s\n", ts, pos, ev.Step, ev.Message)
		case EventProgress:
			bucket := progressBucket(ev)
			if b, ok := last[ev.Step]; ok && b == bucket {
				return
			}
			last[ev.Step] = bucket
			fmt.Fprintf(w, "%s %s%s: %s\n", ts, pos, ev.Step, progressText(ev))
		case EventStepDone:
			fmt.Fprintf(w, "%s %s%s: done in %s\n", ts, pos, ev.Step, round(ev.Elapsed))
		case EventStepFailed:
			fmt.Fprintf(w, "%s %s%s: FAILED after %s: %s\n", ts, pos, ev.Step, round(ev.Elapsed), indent(ev.Error))
			fmt.Fprintf(w, "%s %s%s: next: %s\n", ts, pos, ev.Step, ev.Next)
		case EventMachine:
			detail := ""
			if ev.Message != "" {
				detail = " (" + ev.Message + ")"
			}
			fmt.Fprintf(w, "%s machine %s: %s%s\n", ts, ev.Machine, ev.State, detail)
		case EventLog:
			fmt.Fprintf(w, "%s %s%s: %s\n", ts, pos, ev.Step, ev.Message)
		case EventRunDone:
			fmt.Fprintf(w, "%s install complete: %d steps in %s\n", ts, ev.Total, round(ev.Elapsed))
		case EventRunFailed:
			fmt.Fprintf(w, "%s install stopped at %s; run the same command again to resume\n", ts, ev.Step)
		}
	}
}

func progressBucket(ev Event) int64 {
	switch {
	case ev.Of > 0:
		return ev.Done * 10 / ev.Of
	case ev.Unit == "bytes":
		return ev.Done >> 26
	default:
		return ev.Done / 10
	}
}

func progressText(ev Event) string {
	f := func(n int64) string { return fmt.Sprint(n) }
	if ev.Unit == "bytes" {
		f = func(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
	}
	if ev.Of > 0 {
		unit := ""
		if ev.Unit != "bytes" {
			unit = " " + ev.Unit
		}
		return fmt.Sprintf("%s of %s%s (%d%%)", f(ev.Done), f(ev.Of), unit, ev.Done*100/ev.Of)
	}
	if ev.Unit == "bytes" {
		return f(ev.Done)
	}
	return fmt.Sprintf("%d %s", ev.Done, ev.Unit)
}

func round(d Duration) time.Duration {
	return time.Duration(d).Round(time.Millisecond)
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }
