package wizard

import (
	"context"
	"fmt"
	"io"

	tea "github.com/charmbracelet/bubbletea"
)

// Run shows the wizard full screen on out until the config is saved (its
// path is returned) or the operator leaves (ErrAborted).
func Run(ctx context.Context, cfg Config, in io.Reader, out io.Writer) (string, error) {
	m := New(cfg)
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out), tea.WithAltScreen())
	final, err := p.Run()
	m.stopDiscovery()
	if err != nil {
		return "", fmt.Errorf("interactive installer: %w", err)
	}
	fm := final.(*Model)
	if fm.Saved == "" {
		return "", ErrAborted
	}
	return fm.Saved, nil
}
