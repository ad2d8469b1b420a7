package progress

import (
	"errors"
	"io"
	"sync"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/vela-appliance/vela/installer/run"
	"github.com/vela-appliance/vela/tui"
)

// Config configures a running progress view.
type Config struct {
	Out      io.Writer // the terminal (stdout)
	In       io.Reader // keys; nil reads none
	Headless bool      // run the model without drawing (tests, no terminal)
	Plain    bool      // no colours
	// Cancel stops the install when the operator confirms quitting; the
	// runner then emits step-failed/run-failed and the view closes.
	Cancel func()
	// Buffer is the event channel's capacity (default 256).
	Buffer int
}

// View is a progress program running in the background.
type View struct {
	ch   chan run.Event
	done chan struct{}
	mu   sync.Mutex
	shut bool

	final Model
	err   error
}

// Start runs the progress view until the run ends, the operator leaves, or
// Wait is called. Feed it with Emit.
func Start(cfg Config) *View {
	if cfg.Buffer <= 0 {
		cfg.Buffer = 256
	}
	v := &View{ch: make(chan run.Event, cfg.Buffer), done: make(chan struct{})}
	m := New(tui.NewStyles(tui.NewRenderer(cfg.Out, cfg.Plain)), cfg.Cancel)
	m.events = v.ch
	opts := []tea.ProgramOption{tea.WithOutput(cfg.Out), tea.WithoutSignalHandler()}
	if cfg.In != nil {
		opts = append(opts, tea.WithInput(cfg.In))
	} else {
		opts = append(opts, tea.WithInput(nil))
	}
	if cfg.Headless {
		opts = append(opts, tea.WithoutRenderer())
	}
	p := tea.NewProgram(m, opts...)
	go func() {
		defer close(v.done)
		fm, err := p.Run()
		if mm, ok := fm.(Model); ok {
			v.final = mm
		}
		if errors.Is(err, tea.ErrProgramKilled) {
			err = nil
		}
		v.err = err
	}()
	return v
}

// Emit sends one event to the view. It is safe to call from the runner's
// Emit: it only waits while the view is busy, and drops the event once the
// view has closed.
func (v *View) Emit(ev run.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.shut {
		return
	}
	select {
	case v.ch <- ev:
	case <-v.done:
	}
}

// Wait says no more events will come, waits until the view has drawn the
// last of them and closed, and returns its final state.
func (v *View) Wait() (Model, error) {
	v.mu.Lock()
	if !v.shut {
		v.shut = true
		close(v.ch)
	}
	v.mu.Unlock()
	<-v.done
	return v.final, v.err
}
