package progress

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/vela-appliance/vela/installer/run"
	"github.com/vela-appliance/vela/tui"
)

// MaxLogLines bounds the log pane; older lines are dropped.
const MaxLogLines = 2000

// Step states as drawn.
const (
	StatePending = "pending"
	StateRunning = "running"
	StateDone    = "done"
	StateSkipped = "skipped"
	StateFailed  = "failed"
)

// Step is one row of the step list.
type Step struct {
	ID, Title, State string
	Index            int
	Started          time.Time
	Elapsed          time.Duration
	Done, Of         int64
	Unit             string
	Attempt          string // "attempt 2" on a resumed run
}

// Machine is one row of the machine list.
type Machine struct {
	Name, State, Detail string
	Since               time.Time
}

// Model is the progress view's state: a fold of the events, plus the screen.
type Model struct {
	Plan     string
	Total    int
	Steps    []Step
	Machines []Machine
	Log      []string

	Finished bool // run-done or run-failed arrived
	Failed   *run.Event
	Elapsed  time.Duration

	now       time.Time
	width     int
	height    int
	scroll    int // log lines scrolled up from the bottom
	confirm   bool
	stopping  bool
	showHelp  bool
	quitting  bool
	styles    tui.Styles
	cancel    func()
	events    <-chan run.Event
	keys      keyMap
	startedAt time.Time
}

type keyMap struct {
	Quit, Yes, No, Up, Down, PgUp, PgDown, End, Help key.Binding
}

func defaultKeys() keyMap {
	return keyMap{
		Quit:   key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "stop the install")),
		Yes:    key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes, stop")),
		No:     key.NewBinding(key.WithKeys("n", "N", "esc", "enter"), key.WithHelp("n", "keep going")),
		Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll log up")),
		Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll log down")),
		PgUp:   key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup", "page up")),
		PgDown: key.NewBinding(key.WithKeys("pgdown", "f", " "), key.WithHelp("pgdn", "page down")),
		End:    key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end", "follow the log")),
		Help:   key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "toggle help")),
	}
}

// New returns an empty view of size 80x24 drawing with styles; cancel is
// called when the operator confirms stopping the install (nil: quitting
// only closes the view).
func New(styles tui.Styles, cancel func()) Model {
	return Model{width: 80, height: 24, styles: styles, cancel: cancel, keys: defaultKeys()}
}

// EventMsg carries one installer event to the model.
type EventMsg run.Event

// closedMsg says the event channel was closed: nothing more will come.
type closedMsg struct{}

type tickMsg time.Time

func (m Model) waitEvent() tea.Cmd {
	ch := m.events
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return closedMsg{}
		}
		return EventMsg(ev)
	}
}

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Init starts reading events and the clock.
func (m Model) Init() tea.Cmd { return tea.Batch(m.waitEvent(), tick()) }

// Update folds a message into the model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case EventMsg:
		m = m.apply(run.Event(msg))
		if m.Finished {
			m.quitting = true
			return m, tea.Quit
		}
		return m, m.waitEvent()
	case closedMsg:
		m.quitting = true
		return m, tea.Quit
	case tickMsg:
		if t := time.Time(msg); t.After(m.now) {
			m.now = t
		}
		return m, tick()
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m Model) key(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	if m.confirm {
		switch {
		case key.Matches(msg, k.Yes):
			m.confirm, m.stopping = false, true
			m.Log = appendLog(m.Log, "stopping: the install resumes at this step when you run `vela install` again")
			if m.cancel == nil {
				m.quitting = true
				return m, tea.Quit
			}
			cancel := m.cancel
			return m, func() tea.Msg { cancel(); return nil }
		case key.Matches(msg, k.No):
			m.confirm = false
		}
		return m, nil
	}
	switch {
	case key.Matches(msg, k.Quit):
		if m.stopping || m.Finished {
			m.quitting = true
			return m, tea.Quit
		}
		m.confirm = true
	case key.Matches(msg, k.Help):
		m.showHelp = !m.showHelp
	case key.Matches(msg, k.Up):
		m.scroll = m.clampScroll(m.scroll + 1)
	case key.Matches(msg, k.Down):
		m.scroll = m.clampScroll(m.scroll - 1)
	case key.Matches(msg, k.PgUp):
		m.scroll = m.clampScroll(m.scroll + m.logHeight())
	case key.Matches(msg, k.PgDown):
		m.scroll = m.clampScroll(m.scroll - m.logHeight())
	case key.Matches(msg, k.End):
		m.scroll = 0
	}
	return m, nil
}

func (m Model) clampScroll(s int) int {
	return max(0, min(s, len(m.Log)-m.logHeight()))
}

// apply folds one event into the rows.
func (m Model) apply(ev run.Event) Model {
	if ev.Time.After(m.now) {
		m.now = ev.Time
	}
	switch ev.Type {
	case run.EventPlan:
		m.Plan, m.Total, m.startedAt = ev.Message, ev.Total, ev.Time
	case run.EventStepStarted:
		s := m.step(ev)
		s.State, s.Started, s.Attempt, s.Done, s.Of, s.Unit = StateRunning, ev.Time, ev.Message, 0, 0, ""
	case run.EventStepSkipped:
		m.step(ev).State = StateSkipped
	case run.EventProgress:
		s := m.step(ev)
		s.Done, s.Of, s.Unit = ev.Done, ev.Of, ev.Unit
	case run.EventStepDone:
		s := m.step(ev)
		s.State, s.Elapsed = StateDone, time.Duration(ev.Elapsed)
	case run.EventStepFailed:
		s := m.step(ev)
		s.State, s.Elapsed = StateFailed, time.Duration(ev.Elapsed)
		m.Log = appendLog(m.Log, fmt.Sprintf("%s FAILED: %s", ev.Step, ev.Error))
		if ev.Next != "" {
			m.Log = appendLog(m.Log, fmt.Sprintf("%s next: %s", ev.Step, ev.Next))
		}
	case run.EventMachine:
		m.machine(ev)
	case run.EventLog:
		m.Log = appendLog(m.Log, fmt.Sprintf("%s: %s", ev.Step, ev.Message))
	case run.EventRunDone:
		m.Finished, m.Elapsed = true, time.Duration(ev.Elapsed)
	case run.EventRunFailed:
		e := ev
		m.Finished, m.Failed = true, &e
	}
	return m
}

// step returns the row of ev's step, adding it (the list is kept in plan order).
func (m *Model) step(ev run.Event) *Step {
	if ev.Total > m.Total {
		m.Total = ev.Total
	}
	for i := range m.Steps {
		if m.Steps[i].ID == ev.Step {
			if ev.Title != "" {
				m.Steps[i].Title = ev.Title
			}
			return &m.Steps[i]
		}
	}
	s := Step{ID: ev.Step, Title: ev.Title, Index: ev.Index, State: StatePending}
	at := len(m.Steps)
	for at > 0 && ev.Index > 0 && m.Steps[at-1].Index > ev.Index {
		at--
	}
	m.Steps = append(m.Steps, Step{})
	copy(m.Steps[at+1:], m.Steps[at:])
	m.Steps[at] = s
	return &m.Steps[at]
}

func (m *Model) machine(ev run.Event) {
	if ev.State == "failed" {
		m.Log = appendLog(m.Log, fmt.Sprintf("machine %s failed: %s", ev.Machine, ev.Message))
	}
	for i := range m.Machines {
		if m.Machines[i].Name == ev.Machine {
			m.Machines[i] = Machine{Name: ev.Machine, State: ev.State, Detail: ev.Message, Since: ev.Time}
			return
		}
	}
	m.Machines = append(m.Machines, Machine{Name: ev.Machine, State: ev.State, Detail: ev.Message, Since: ev.Time})
}

func appendLog(log []string, line string) []string {
	for _, l := range strings.Split(line, "\n") {
		log = append(log, l)
	}
	if over := len(log) - MaxLogLines; over > 0 {
		log = append(log[:0:0], log[over:]...)
	}
	return log
}

// Counts returns how many steps are finished (done or skipped) out of the plan.
func (m Model) Counts() (finished, total int) {
	for _, s := range m.Steps {
		if s.State == StateDone || s.State == StateSkipped {
			finished++
		}
	}
	return finished, max(m.Total, len(m.Steps))
}
