package config

import (
	"fmt"
	"sort"
	"strings"
)

// Severity separates problems that stop an install from advice.
type Severity int

const (
	Error Severity = iota
	Warning
)

// Pos is a place in the config file (1-based); zero when unknown.
type Pos struct {
	Line, Col int
}

// Diagnostic is one problem with the config.
type Diagnostic struct {
	Severity Severity
	File     string // "" when the config did not come from a file (TUI)
	Pos      Pos
	Path     string // dotted field path, e.g. machines[2].mac; "" for the whole file
	Msg      string // what is wrong
	Hint     string // what to do
}

// Error renders FILE:LINE:COL: [warning: ]path: what is wrong; what to do.
func (d Diagnostic) Error() string {
	var b strings.Builder
	if d.File != "" {
		b.WriteString(d.File)
		if d.Pos.Line > 0 {
			fmt.Fprintf(&b, ":%d", d.Pos.Line)
		}
		if d.Pos.Col > 0 {
			fmt.Fprintf(&b, ":%d", d.Pos.Col)
		}
		b.WriteString(": ")
	}
	if d.Severity == Warning {
		b.WriteString("warning: ")
	}
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Msg)
	if d.Hint != "" {
		b.WriteString("; ")
		b.WriteString(d.Hint)
	}
	return b.String()
}

// Diagnostics is every problem found, errors and warnings together.
type Diagnostics []Diagnostic

// Errors returns only the errors.
func (ds Diagnostics) Errors() Diagnostics { return ds.only(Error) }

// Warnings returns only the warnings.
func (ds Diagnostics) Warnings() Diagnostics { return ds.only(Warning) }

func (ds Diagnostics) only(s Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}

// HasErrors tells whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool { return len(ds.Errors()) > 0 }

// Sort orders diagnostics by position, then path, errors first on ties.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Severity < b.Severity
	})
}

// Error joins the errors, one per line, so Diagnostics can be returned as an error.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.Error()
	}
	return strings.Join(lines, "\n")
}

// For returns the diagnostics about path or anything under it (for the TUI,
// which shows them next to the field).
func (ds Diagnostics) For(path string) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Path == path || strings.HasPrefix(d.Path, path+".") || strings.HasPrefix(d.Path, path+"[") {
			out = append(out, d)
		}
	}
	return out
}

// covers tells whether an error was already reported at path or above it.
func (ds Diagnostics) covers(path string) bool {
	for _, d := range ds {
		if d.Severity == Error && d.Path != "" && (path == d.Path || strings.HasPrefix(path, d.Path+".") || strings.HasPrefix(path, d.Path+"[")) {
			return true
		}
	}
	return false
}
