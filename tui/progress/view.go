package progress

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// View draws the model in its window (80x24 at least is designed for).
// The frame is one line shorter than the window, so that the last frame
// stays whole on the terminal after the program exits.
func (m Model) View() string {
	var b strings.Builder
	lines := m.lines()
	if h := max(4, m.height-1); len(lines) > h {
		foot := len(m.footer())
		lines = append(lines[:max(0, h-foot)], lines[len(lines)-foot:]...)
	}
	for _, l := range lines {
		b.WriteString(ansi.Truncate(l, m.width, "…"))
		b.WriteByte('\n')
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func (m Model) lines() []string {
	st := m.styles
	finished, total := m.Counts()
	name := m.Plan
	if name == "" {
		name = "…"
	}
	head := st.Title.Render(fmt.Sprintf("Vela install %q", name))
	right := fmt.Sprintf("step %d/%d · %s", min(finished+1, total), total, clock(m.runTime()))
	if m.Finished {
		right = fmt.Sprintf("%d/%d steps · %s", finished, total, clock(m.runTime()))
	}
	out := []string{spread(head, st.Subtle.Render(right), m.width)}
	pct := 0.0
	if total > 0 {
		pct = float64(finished) / float64(total)
	}
	out = append(out, bar(pct, m.width-8)+fmt.Sprintf(" %3d%%", int(pct*100)))

	footer := m.footer()
	budget := m.height - 1 - len(out) - len(footer)
	machines := m.machineLines()
	stepRoom := max(3, budget-min(len(machines), max(3, budget/3))-5)
	if m.Finished {
		stepRoom = min(stepRoom, 4) // the outcome and the log matter more now
	}
	steps := m.stepLines(stepRoom)
	out = append(out, steps...)
	room := budget - len(steps)
	if len(machines) > 0 {
		keep := min(len(machines), max(2, room-4))
		out = append(out, st.Subtle.Render("Machines"))
		out = append(out, machines[:keep]...)
		if keep < len(machines) {
			out[len(out)-1] = st.Subtle.Render(fmt.Sprintf("  … %d more machines", len(machines)-keep+1))
		}
		room -= keep + 1
	}
	out = append(out, m.logLines(room)...)
	return append(out, footer...)
}

func (m Model) runTime() time.Duration {
	if m.Finished && m.Elapsed > 0 {
		return m.Elapsed
	}
	if m.startedAt.IsZero() {
		return 0
	}
	return m.now.Sub(m.startedAt)
}

// stepLines shows a window of steps around the current one, at most room lines.
func (m Model) stepLines(room int) []string {
	st := m.styles
	if len(m.Steps) == 0 {
		return []string{st.Subtle.Render("  waiting for the plan…")}
	}
	cur := len(m.Steps) - 1
	for i, s := range m.Steps {
		if s.State == StateRunning || s.State == StateFailed {
			cur = i
			break
		}
	}
	lo := max(0, min(cur-room/2, len(m.Steps)-room))
	hi := min(len(m.Steps), lo+room)
	var out []string
	for i := lo; i < hi; i++ {
		out = append(out, m.stepLine(m.Steps[i]))
	}
	if lo > 0 {
		out[0] = st.Subtle.Render(fmt.Sprintf("  … %d steps before", lo+1))
	}
	if hi < len(m.Steps) {
		out[len(out)-1] = st.Subtle.Render(fmt.Sprintf("  … %d steps after", len(m.Steps)-hi+1))
	}
	return out
}

func (m Model) stepLine(s Step) string {
	st := m.styles
	var mark, tail string
	switch s.State {
	case StateDone:
		mark, tail = st.OK.Render("✓"), clock(s.Elapsed)
	case StateSkipped:
		mark, tail = st.Subtle.Render("↷"), "done before"
	case StateFailed:
		mark, tail = st.Fail.Render("✗"), "failed after "+clock(s.Elapsed)
	case StateRunning:
		mark, tail = st.Active.Render("▸"), clock(m.now.Sub(s.Started))
		if s.Unit != "" {
			tail = amount(s.Done, s.Of, s.Unit) + "  " + tail
			if s.Of > 0 {
				tail = bar(float64(s.Done)/float64(s.Of), 12) + " " + tail
			}
		}
		if s.Attempt != "" {
			tail += " (" + s.Attempt + ")"
		}
	default:
		mark = " "
	}
	left := fmt.Sprintf(" %s %s", mark, s.ID)
	if s.Title != "" && m.width >= 100 {
		left += st.Subtle.Render("  " + s.Title)
	}
	return spread(left, tail, m.width)
}

func (m Model) machineLines() []string {
	st := m.styles
	var out []string
	for _, mc := range m.Machines {
		state := fmt.Sprintf("%-15s", mc.State)
		switch mc.State {
		case "failed":
			state = st.Fail.Render(state)
		case "reported", "joined", "registered", "ready":
			state = st.OK.Render(state)
		default:
			state = st.Active.Render(state)
		}
		line := fmt.Sprintf("   %-12s %s", mc.Name, state)
		tail := ""
		if s, ok := m.machineStep(mc.Name); ok {
			tail = bar(float64(s.Done)/float64(s.Of), 12) + " " + amount(s.Done, s.Of, s.Unit)
		}
		if mc.Detail != "" {
			line += st.Subtle.Render(" " + mc.Detail)
		}
		out = append(out, spread(line, tail, m.width))
	}
	return out
}

// machineStep finds a running step of that machine (ID ".../name") with progress.
func (m Model) machineStep(name string) (Step, bool) {
	for _, s := range m.Steps {
		if s.State == StateRunning && s.Of > 0 && strings.HasSuffix(s.ID, "/"+name) {
			return s, true
		}
	}
	return Step{}, false
}

func (m Model) logHeight() int { return max(1, m.height/4) }

func (m Model) logLines(room int) []string {
	st := m.styles
	if room < 2 {
		return nil
	}
	title := "Log"
	if m.scroll > 0 {
		title = fmt.Sprintf("Log (scrolled up %d lines; end follows)", m.scroll)
	}
	out := []string{st.Subtle.Render(title)}
	n := room - 1
	end := len(m.Log) - m.scroll
	// Whole entries from the end, each wrapped to the width.
	var wrapped []string
	for i := min(end, len(m.Log)) - 1; i >= 0 && len(wrapped) < n; i-- {
		entry := strings.Split(ansi.Wrap(m.Log[i], max(10, m.width-4), " /"), "\n")
		if len(wrapped)+len(entry) > n && len(wrapped) > 0 {
			break
		}
		for j := range entry {
			entry[j] = "  " + entry[j]
		}
		wrapped = append(entry, wrapped...)
	}
	out = append(out, wrapped[max(0, len(wrapped)-n):]...)
	for len(out) < room {
		out = append(out, "")
	}
	return out
}

func (m Model) footer() []string {
	st := m.styles
	switch {
	case m.confirm:
		return []string{st.Warn.Render("Stop the install? Run `vela install` again later to resume where it stopped. [y/N]")}
	case m.Failed != nil:
		out := []string{st.Fail.Render("Install stopped at " + m.Failed.Step + ".")}
		out = append(out, strings.Split(ansi.Wrap("Next: "+m.Failed.Next, m.width, " /"), "\n")...)
		return append(out, "Run the same `vela install` again to resume.")
	case m.Finished:
		return doneLines(m)
	case m.stopping:
		return []string{st.Warn.Render("Stopping… (q again leaves at once)")}
	case m.showHelp:
		k := m.keys
		var parts []string
		for _, b := range []struct{ k, h string }{{k.Quit.Help().Key, k.Quit.Help().Desc}, {k.Up.Help().Key, k.Up.Help().Desc},
			{k.Down.Help().Key, k.Down.Help().Desc}, {k.PgUp.Help().Key, k.PgUp.Help().Desc}, {k.End.Help().Key, k.End.Help().Desc},
			{k.Help.Help().Key, k.Help.Help().Desc}} {
			parts = append(parts, st.Key.Render(b.k)+" "+b.h)
		}
		return []string{strings.Join(parts, " · ")}
	}
	return []string{st.Subtle.Render("q stop · ↑/↓ scroll log · ? help")}
}

func doneLines(m Model) []string {
	st := m.styles
	return []string{
		st.OK.Render(fmt.Sprintf("Install complete in %s.", clock(m.runTime()))),
		"Next: vela members ls · vela events --limit 20",
		st.Subtle.Render("The API URL and where the credentials were written are in the log above."),
	}
}

// spread puts left and right on one line of width w, cutting left short
// rather than losing right.
func spread(left, right string, w int) string {
	if right == "" {
		return left
	}
	if room := w - ansi.StringWidth(right) - 1; ansi.StringWidth(left) > room && room > 8 {
		left = ansi.Truncate(left, room, "…")
	}
	gap := w - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 1 {
		gap = 1
	}
	return left + strings.Repeat(" ", gap) + right
}

// bar draws a fraction as a text bar of width w.
func bar(f float64, w int) string {
	w = max(w, 4)
	f = max(0, min(1, f))
	n := int(f*float64(w) + 0.5)
	return "[" + strings.Repeat("█", n) + strings.Repeat("░", w-n) + "]"
}

func amount(done, of int64, unit string) string {
	f := func(n int64) string { return fmt.Sprint(n) }
	if unit == "bytes" {
		f = func(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
	}
	if of <= 0 {
		if unit == "bytes" {
			return f(done)
		}
		return fmt.Sprintf("%d %s", done, unit)
	}
	u := ""
	if unit != "bytes" {
		u = " " + unit
	}
	return fmt.Sprintf("%s/%s%s", f(done), f(of), u)
}

func clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
