package wizard

import (
	"strings"

	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/vela-appliance/vela/installer/config"
)

// review is the state of the review screen: the YAML that will be used,
// the validator's verdict on it, and where to save it.
type review struct {
	yaml    []byte
	diags   config.Diagnostics
	err     error
	vp      viewport.Model
	path    textinput.Model
	editing bool // the path field has focus
	saveErr error
}

// resize gives the YAML the rows the verdict, the path and the keys leave.
func (r *review) resize(w, h int) {
	used := 0
	for _, d := range r.diags {
		used += 1 + len(message(d))/max(1, w-2)
	}
	r.vp.Width, r.vp.Height = w, max(3, h-7-used)
}

func (m *Model) enterReview() tea.Cmd {
	r := &m.review
	r.yaml, r.err = Marshal(m.a.Config())
	r.diags = nil
	if r.err == nil {
		r.diags = m.cfg.Check(r.yaml)
	}
	r.vp = viewport.New(m.width, 3)
	r.resize(m.width, m.height)
	r.vp.SetContent(string(r.yaml))
	r.path = textinput.New()
	r.path.Prompt = "Save to: "
	r.path.SetValue(m.a.SavePath)
	r.path.CharLimit = 4096
	r.editing, r.saveErr = true, nil
	return r.path.Focus()
}

func (m *Model) updateReview(msg tea.Msg) tea.Cmd {
	r := &m.review
	switch msg := msg.(type) {
	case savedMsg:
		if msg.err != nil {
			r.saveErr = msg.err
			return nil
		}
		m.Saved = msg.path
		return tea.Quit
	case tea.KeyMsg:
		switch msg.String() {
		case "enter":
			m.a.SavePath = strings.TrimSpace(r.path.Value())
			if r.err != nil || r.diags.HasErrors() || m.a.SavePath == "" {
				return nil
			}
			return save(m.a.SavePath, r.yaml)
		case "up", "down", "pgup", "pgdown":
			var cmd tea.Cmd
			r.vp, cmd = r.vp.Update(msg)
			return cmd
		}
	}
	var cmd tea.Cmd
	r.path, cmd = r.path.Update(msg)
	m.a.SavePath = r.path.Value()
	return cmd
}
