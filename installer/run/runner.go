package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/vela-appliance/vela/installer/plan"
)

// StepFunc executes one step. It must be idempotent: the runner runs it
// again when a previous run died before recording it done.
type StepFunc func(ctx context.Context, s plan.Step, r Reporter) error

// Executors maps each step kind to what executes it.
type Executors map[plan.Kind]StepFunc

// Config configures a Runner.
type Config struct {
	Plan      plan.Plan
	Executors Executors
	StateDir  string
	// Emit receives every event in order. It is called with the runner's
	// lock held: it must not call back into the runner.
	Emit func(Event)
	Now  func() time.Time // default time.Now
}

// Runner executes a plan and persists its progress.
type Runner struct {
	cfg   Config
	mu    sync.Mutex // guards state and serialises Emit
	state *State

	runCtx context.Context // lives until Run returns; services run under it
	bg     sync.WaitGroup
	cancel context.CancelCauseFunc
}

// New checks that every step kind of the plan has an executor.
func New(cfg Config) (*Runner, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Emit == nil {
		cfg.Emit = func(Event) {}
	}
	var missing []string
	for _, k := range cfg.Plan.Kinds() {
		if cfg.Executors[k] == nil {
			missing = append(missing, string(k))
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, &MissingExecutorsError{Kinds: missing}
	}
	return &Runner{cfg: cfg}, nil
}

// StepError is a step that failed: which one, why, and what to do.
type StepError struct {
	Step string
	Err  error
	Next string
}

func (e *StepError) Error() string {
	return fmt.Sprintf("step %s failed: %v\nnext: %s", e.Step, e.Err, e.Next)
}
func (e *StepError) Unwrap() error { return e.Err }

// ErrConfigChanged means the state dir holds the progress of another config.
var ErrConfigChanged = errors.New("config changed")

// Run executes the plan from where the last run on this state dir stopped.
// Steps recorded done are skipped; service steps run every time. It returns
// when every step is done, a step fails, or ctx is cancelled.
func (r *Runner) Run(ctx context.Context) error {
	dir := r.cfg.StateDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating state dir: %w; pick another with --state-dir", err)
	}
	release, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer release()
	if err := r.open(); err != nil {
		return err
	}
	ctx, r.cancel = context.WithCancelCause(ctx)
	r.runCtx = ctx
	defer r.stopBackground()

	steps := r.cfg.Plan.Steps
	r.emit(Event{Type: EventPlan, Total: len(steps), Message: r.cfg.Plan.Name})
	start := r.cfg.Now()
	for i, s := range steps {
		if err := r.step(ctx, i, s); err != nil {
			r.emit(Event{Type: EventRunFailed, Step: s.ID, Error: err.Err.Error(), Next: err.Next})
			return err
		}
	}
	r.emit(Event{Type: EventRunDone, Total: len(steps), Elapsed: Duration(r.cfg.Now().Sub(start))})
	return nil
}

// open loads the progress of an earlier run, or starts a new one.
func (r *Runner) open() error {
	st, err := loadState(r.cfg.StateDir)
	if err != nil {
		return err
	}
	now := r.cfg.Now()
	switch {
	case st == nil:
		st = &State{Version: 1, PlanHash: r.cfg.Plan.Hash, Started: now, Steps: map[string]*StepState{}}
	case st.PlanHash != r.cfg.Plan.Hash:
		return fmt.Errorf("%w: state dir %s holds the progress of an install started %s from a different config; "+
			"run with the config it was started with, or use another --state-dir (or --reset) to start over",
			ErrConfigChanged, r.cfg.StateDir, st.Started.Format(time.RFC3339))
	}
	st.Runs++
	r.state = st
	return r.save()
}

func (r *Runner) save() error {
	if err := r.state.save(r.cfg.StateDir); err != nil {
		return fmt.Errorf("saving install progress in %s: %w; check free space and permissions", r.cfg.StateDir, err)
	}
	return nil
}

func (r *Runner) step(ctx context.Context, i int, s plan.Step) *StepError {
	base := Event{Step: s.ID, Index: i + 1, Total: len(r.cfg.Plan.Steps), Title: s.Title}
	r.mu.Lock()
	ss := r.state.Steps[s.ID]
	if ss != nil && ss.Status == StatusDone && !s.Service {
		ev := base
		ev.Type, ev.Message = EventStepSkipped, "done "+ss.Finished.Format(time.RFC3339)
		r.emitLocked(ev)
		r.mu.Unlock()
		return nil
	}
	if ss == nil {
		ss = &StepState{}
		r.state.Steps[s.ID] = ss
	}
	ss.Status, ss.Attempts, ss.Started, ss.Error = StatusRunning, ss.Attempts+1, r.cfg.Now(), ""
	err := r.save()
	if err == nil {
		ev := base
		ev.Type = EventStepStarted
		if ss.Attempts > 1 {
			ev.Message = fmt.Sprintf("attempt %d", ss.Attempts)
		}
		r.emitLocked(ev)
	}
	r.mu.Unlock()
	if err != nil {
		return &StepError{Step: s.ID, Err: err, Next: "free space in the state dir, then run again"}
	}

	err = r.cfg.Executors[s.Kind](ctx, s, &reporter{r: r, base: base})
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	ss.Finished = r.cfg.Now()
	ev := base
	ev.Elapsed = Duration(ss.Finished.Sub(ss.Started))
	if err != nil {
		next := nextAction(err)
		if ctx.Err() != nil {
			next = "run the same `vela install` command again: it resumes at this step"
		}
		ss.Status, ss.Error = StatusFailed, err.Error()
		if serr := r.save(); serr != nil {
			err = errors.Join(err, serr)
		}
		ev.Type, ev.Error, ev.Next = EventStepFailed, err.Error(), next
		r.emitLocked(ev)
		return &StepError{Step: s.ID, Err: err, Next: next}
	}
	ss.Status = StatusDone
	if err := r.save(); err != nil {
		return &StepError{Step: s.ID, Err: err, Next: "free space in the state dir, then run again"}
	}
	ev.Type = EventStepDone
	r.emitLocked(ev)
	return nil
}

func (r *Runner) emit(ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emitLocked(ev)
}

func (r *Runner) emitLocked(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = r.cfg.Now()
	}
	r.cfg.Emit(ev)
}

// Background runs fn for the rest of the run (a service such as the boot
// servers). If fn fails before the run ends, the run is cancelled with its
// error. When the run ends, fn's context is cancelled and Run waits for it.
func (r *Runner) background(name string, fn func(ctx context.Context) error) {
	ctx := r.runCtx
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			r.cancel(fmt.Errorf("%s stopped: %w", name, err))
		}
	}()
}

func (r *Runner) stopBackground() {
	r.cancel(errors.New("install run ended"))
	r.bg.Wait()
}

// Machines returns the last known boot state of each machine.
func (r *Runner) Machines() map[string]MachineSeen {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]MachineSeen, len(r.state.Machines))
	for k, v := range r.state.Machines {
		out[k] = v
	}
	return out
}
