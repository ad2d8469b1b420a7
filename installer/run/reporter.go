package run

import (
	"context"
	"fmt"
)

// reporter is the Reporter a step gets; it stamps events with the step.
type reporter struct {
	r    *Runner
	base Event
}

var _ Reporter = (*reporter)(nil)

func (p *reporter) Progress(done, of int64, unit string) {
	ev := p.base
	ev.Type, ev.Done, ev.Of, ev.Unit = EventProgress, done, of, unit
	p.r.emit(ev)
}

// Machine records the machine's state in the progress file (so a resumed
// run and the TUI know it) and emits it.
func (p *reporter) Machine(name, state, detail string) {
	r := p.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state.Machines == nil {
		r.state.Machines = map[string]MachineSeen{}
	}
	now := r.cfg.Now()
	if prev, ok := r.state.Machines[name]; ok && prev.State == state && prev.Detail == detail {
		return
	}
	r.state.Machines[name] = MachineSeen{State: state, Detail: detail, Time: now}
	_ = r.save() // best effort: a lost machine state is reported again by the machine
	r.emitLocked(Event{Time: now, Type: EventMachine, Machine: name, State: state, Message: detail})
}

func (p *reporter) Logf(format string, args ...any) {
	ev := p.base
	ev.Type, ev.Message = EventLog, fmt.Sprintf(format, args...)
	p.r.emit(ev)
}

// Background starts a service that lives for the rest of the run.
func (p *reporter) Background(name string, fn func(ctx context.Context) error) {
	p.r.background(name, fn)
}

// Backgrounder is implemented by the Reporter given to steps: service steps
// use it to keep something running after they return.
type Backgrounder interface {
	Background(name string, fn func(ctx context.Context) error)
}

// MachineStater is implemented by the Reporter given to steps: the last
// state recorded for a machine in this run or an earlier one.
type MachineStater interface {
	MachineState(name string) (state, detail string)
}

// MachineState returns the last recorded state of a machine.
func (p *reporter) MachineState(name string) (state, detail string) {
	p.r.mu.Lock()
	defer p.r.mu.Unlock()
	m := p.r.state.Machines[name]
	return m.State, m.Detail
}
