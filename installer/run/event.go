package run

import "time"

// EventType says what an Event reports.
type EventType string

// Event types, from a run's start to its end.
const (
	EventPlan        EventType = "plan"         // the run starts: Total steps, Message = plan name
	EventStepStarted EventType = "step-started" // a step begins (or begins again after a crash)
	EventStepSkipped EventType = "step-skipped" // done in an earlier run; not run again
	EventProgress    EventType = "step-progress"
	EventStepDone    EventType = "step-done"
	EventStepFailed  EventType = "step-failed"
	EventMachine     EventType = "machine" // a machine's boot state changed
	EventLog         EventType = "log"     // a line worth showing from inside a step
	EventRunDone     EventType = "run-done"
	EventRunFailed   EventType = "run-failed"
)

// Event is one thing that happened during a run. Fields not relevant to a
// type are empty; the JSON form is the --output json line format.
type Event struct {
	Time    time.Time `json:"time"`
	Type    EventType `json:"type"`
	Step    string    `json:"step,omitempty"`  // step ID
	Index   int       `json:"index,omitempty"` // 1-based position of the step
	Total   int       `json:"total,omitempty"` // steps in the plan
	Title   string    `json:"title,omitempty"`
	Machine string    `json:"machine,omitempty"`
	State   string    `json:"state,omitempty"` // machine state
	Done    int64     `json:"done,omitempty"`  // progress: so far
	Of      int64     `json:"of,omitempty"`    // progress: expected (0 when unknown)
	Unit    string    `json:"unit,omitempty"`  // progress: "bytes", "machines", ...
	Message string    `json:"message,omitempty"`
	Error   string    `json:"error,omitempty"`
	Next    string    `json:"next,omitempty"` // what the operator should do
	Elapsed Duration  `json:"elapsed,omitempty"`
}

// Duration marshals as text ("1.5s") in JSON events.
type Duration time.Duration

// MarshalText writes the duration like time.Duration.String.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// Reporter is what a step uses to tell the operator how it is doing.
type Reporter interface {
	// Progress reports done out of of units (of = 0 when unknown).
	Progress(done, of int64, unit string)
	// Machine reports a machine's new boot state.
	Machine(name, state, detail string)
	// Logf reports a line worth showing.
	Logf(format string, args ...any)
}
