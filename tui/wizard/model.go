package wizard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/installer/preflight"
	"github.com/vela-appliance/vela/tui"
)

// Config configures the wizard.
type Config struct {
	Host Host // the interfaces offered; System{} in the product
	// Preflight runs the host checks for a config (the welcome screen shows
	// them); nil shows none.
	Preflight func(*config.Config) []preflight.Result
	// Discover starts listening for machines that PXE-boot on the boot
	// network of c; nil disables discovery. It runs while the machines
	// screen is open and stops when ctx ends.
	Discover func(ctx context.Context, c *config.Config) (Discoverer, error)
	// Check validates the YAML as `vela config validate` does; nil uses
	// config.Parse.
	Check  func(yaml []byte) config.Diagnostics
	Styles tui.Styles
	Plain  bool // no colours (golden tests, NO_COLOR)
}

// ErrAborted is returned when the operator leaves the wizard without saving.
var ErrAborted = errors.New("the interactive installer was left without saving a config")

// Model is the full-screen wizard.
type Model struct {
	cfg     Config
	a       *Answers
	ifs     []Interface
	screen  int
	form    *huh.Form
	width   int
	height  int
	help    bool
	keys    keys
	checks  []preflight.Result
	checked bool

	mach   machines
	review review

	Saved   string // path the config was saved to, once saved
	Aborted bool
}

type keys struct{ Back, Help, Quit, Next key.Binding }

// New returns the wizard at the welcome screen with answers pre-filled from
// the host.
func New(cfg Config) *Model {
	if cfg.Host == nil {
		cfg.Host = System{}
	}
	if cfg.Check == nil {
		cfg.Check = func(b []byte) config.Diagnostics { _, _, d := config.Parse("review", b); return d }
	}
	ifs, _ := cfg.Host.Interfaces()
	a := Prefill(ifs)
	m := &Model{cfg: cfg, a: &a, ifs: ifs, width: 80, height: 24, keys: keys{
		Back: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back (answers are kept)")),
		Help: key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "key help")),
		Quit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "leave without saving")),
		Next: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next")),
	}}
	m.mach.keys = newMachineKeys()
	return m
}

// Answers returns the answers so far.
func (m *Model) Answers() Answers { return *m.a }

// Screen returns the current screen.
func (m *Model) Screen() int { return m.screen }

type checksMsg []preflight.Result

// Init runs the preflight checks for the pre-filled answers.
func (m *Model) Init() tea.Cmd {
	pf := m.cfg.Preflight
	if pf == nil {
		return nil
	}
	c := m.a.Defaulted()
	return func() tea.Msg { return checksMsg(pf(c)) }
}

// Update handles keys for the whole wizard, then the current screen.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		if m.form != nil {
			m.form = m.form.WithWidth(min(msg.Width, 100) - 2).WithHeight(msg.Height - 5)
		}
		m.review.resize(msg.Width, msg.Height)
		return m, nil
	case checksMsg:
		m.checks, m.checked = msg, true
		return m, nil
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, m.keys.Quit):
			m.Aborted = true
			m.stopDiscovery()
			return m, tea.Quit
		case key.Matches(msg, m.keys.Back) && !m.mach.editing() && !m.review.editing:
			return m, m.enter(max(ScreenWelcome, m.screen-1))
		case key.Matches(msg, m.keys.Help) && m.form == nil && !m.mach.editing():
			m.help = !m.help
			return m, nil
		}
	}
	switch {
	case m.form != nil:
		return m, m.updateForm(msg)
	case m.screen == ScreenWelcome:
		if k, ok := msg.(tea.KeyMsg); ok && key.Matches(k, m.keys.Next) {
			return m, m.enter(ScreenTarget)
		}
	case m.screen == ScreenMachines:
		return m, m.updateMachines(msg)
	case m.screen == ScreenReview:
		return m, m.updateReview(msg)
	}
	return m, nil
}

// enter shows screen s, building its form from the answers (which persist).
func (m *Model) enter(s int) tea.Cmd {
	if m.screen == ScreenMachines && s != ScreenMachines {
		m.stopDiscovery()
	}
	if s == ScreenNetwork && m.screen == ScreenTarget {
		m.targetChanged()
	}
	m.screen, m.form, m.help = s, nil, false
	switch s {
	case ScreenTarget, ScreenNetwork, ScreenOS, ScreenSSH, ScreenPeople:
		m.form = m.buildForm(s)
		return m.form.Init()
	case ScreenMachines:
		return m.enterMachines()
	case ScreenReview:
		return m.enterReview()
	}
	return nil
}

// targetChanged switches the network answers to the lab example's (and
// back to the host's) when the target changed.
func (m *Model) targetChanged() {
	a := m.a
	if a.Target == TargetLab && a.Address != "10.77.0.1/24" && !m.mach.labSet {
		*a = labDefaults(*a)
		m.mach.labSet = true
	} else if a.Target == TargetRack && m.mach.labSet {
		host := Prefill(m.ifs)
		a.Address, a.DHCPMode, a.Pool, a.DNS, a.KernelArgs = host.Address, host.DHCPMode, host.Pool, "", ""
		a.Machines, m.mach.labSet = nil, false
	}
}

func (m *Model) updateForm(msg tea.Msg) tea.Cmd {
	f, cmd := m.form.Update(msg)
	m.form = f.(*huh.Form)
	switch m.form.State {
	case huh.StateCompleted:
		if m.screen == ScreenSSH {
			_ = readKeyFile(m.a) // validated by the field; read once more to keep the keys
			m.a.SSHKeyFile = ""
		}
		return m.enter(m.screen + 1)
	case huh.StateAborted:
		m.Aborted = true
		return tea.Quit
	}
	return cmd
}

// buildForm makes the huh form of a screen: one group per run of questions
// shown under the same condition.
func (m *Model) buildForm(s int) *huh.Form {
	var groups []*huh.Group
	var cur []huh.Field
	var curShow func(Answers) bool
	flush := func() {
		if len(cur) == 0 {
			return
		}
		g := huh.NewGroup(cur...)
		if show := curShow; show != nil {
			g = g.WithHideFunc(func() bool { return !show(*m.a) })
		}
		groups = append(groups, g)
		cur = nil
	}
	qs := questions(s, m.ifs)
	for i, q := range qs {
		if i == 0 || fmt.Sprintf("%p", q.show) != fmt.Sprintf("%p", curShow) {
			flush()
			curShow = q.show
		}
		cur = append(cur, m.field(q))
	}
	flush()
	theme := huh.ThemeBase()
	if !m.cfg.Plain {
		theme = huh.ThemeCharm()
	}
	km := huh.NewDefaultKeyMap()
	km.Quit = key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit"))
	return huh.NewForm(groups...).WithTheme(theme).WithKeyMap(km).WithShowHelp(true).
		WithWidth(min(m.width, 100) - 2).WithHeight(m.height - 5)
}

func (m *Model) field(q question) huh.Field {
	validate := func(s string) error { return checkValue(*m.a, q, s) }
	switch q.kind {
	case kindChoice:
		var opts []huh.Option[string]
		for _, o := range q.options(m.a) {
			opts = append(opts, huh.NewOption(o.label, o.value))
		}
		return huh.NewSelect[string]().Title(q.title).Description(q.help).Options(opts...).Value(q.get(m.a)).Validate(validate)
	case kindText:
		return huh.NewText().Title(q.title).Description(q.help).Lines(4).Value(q.get(m.a)).Validate(validate)
	}
	return huh.NewInput().Title(q.title).Description(q.help).Value(q.get(m.a)).Validate(validate)
}

type savedMsg struct {
	path string
	err  error
}

// save writes the YAML to path (0600: it names the rack), in a tea.Cmd.
func save(path string, data []byte) tea.Cmd {
	return func() tea.Msg {
		abs, err := filepath.Abs(path)
		if err == nil {
			err = os.WriteFile(abs, data, 0o600)
		}
		if err != nil {
			return savedMsg{path: path, err: fmt.Errorf("saving the install config to %s: %w; pick another path", path, err)}
		}
		return savedMsg{path: abs}
	}
}
