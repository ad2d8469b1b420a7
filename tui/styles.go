package tui

import (
	"io"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Styles are the looks every screen uses. Built from a renderer bound to the
// output, they fall back to plain text where the terminal has no colours.
type Styles struct {
	Title, Subtle, OK, Warn, Fail, Active, Key, Box, Error lipgloss.Style
}

// NewRenderer returns a lipgloss renderer for w; plain forces no colours
// (golden tests, TERM=dumb, NO_COLOR).
func NewRenderer(w io.Writer, plain bool) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(w)
	if plain {
		r.SetColorProfile(termenv.Ascii)
	}
	return r
}

// NewStyles builds the styles on renderer r.
func NewStyles(r *lipgloss.Renderer) Styles {
	return Styles{
		Title:  r.NewStyle().Bold(true).Foreground(lipgloss.AdaptiveColor{Light: "#5A3FC0", Dark: "#B4A5FF"}),
		Subtle: r.NewStyle().Foreground(lipgloss.AdaptiveColor{Light: "#707070", Dark: "#8A8A8A"}),
		OK:     r.NewStyle().Foreground(lipgloss.Color("2")),
		Warn:   r.NewStyle().Foreground(lipgloss.Color("3")),
		Fail:   r.NewStyle().Bold(true).Foreground(lipgloss.Color("1")),
		Active: r.NewStyle().Bold(true).Foreground(lipgloss.Color("6")),
		Key:    r.NewStyle().Bold(true),
		Box:    r.NewStyle().Border(lipgloss.NormalBorder()).Padding(0, 1),
		Error:  r.NewStyle().Foreground(lipgloss.Color("1")),
	}
}
