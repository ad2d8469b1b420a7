package ignition

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vela-appliance/vela/installer/config"
)

// CheckSnippets translates every operator snippet of a validated config the
// way Render will, and reports each problem at its place: for an inline
// snippet, the snippet's own line mapped to the line of the install config
// file; for a path snippet, the line in that file. It also reports snippet
// entries that would replace Vela's own files or units on any machine.
// `vela config validate` calls it so that mistakes surface before any boot.
func CheckSnippets(cfg *config.Config, src *config.Source, baseDir string) config.Diagnostics {
	var diags config.Diagnostics
	var snips []snippet
	for i, s := range cfg.Butane {
		path := fmt.Sprintf("butane[%d].inline", i)
		if s.Path != "" {
			path = fmt.Sprintf("butane[%d].path", i)
		}
		text, file, err := readSnippet(s, baseDir)
		if err != nil {
			diags = append(diags, diagAt(src, path, fmt.Sprintf("snippet %q: %v", s.Name, err), ""))
			continue
		}
		c, probs := translateSnippet(text, baseDir)
		for _, p := range probs {
			diags = append(diags, snippetDiag(src, path, file, s.Name, p))
		}
		if len(probs) == 0 {
			snips = append(snips, snippet{index: i, name: s.Name, text: text, cfg: c})
		}
	}
	diags = append(diags, conflictDiags(cfg, src, baseDir, snips)...)
	return diags
}

// conflictDiags checks the snippets against Vela's own entries of every
// machine (they differ by role, variant and addressing), once per conflict.
func conflictDiags(cfg *config.Config, src *config.Source, baseDir string, snips []snippet) config.Diagnostics {
	if len(snips) == 0 {
		return nil
	}
	var diags config.Diagnostics
	seen := map[string]bool{}
	kinds := map[string]bool{} // Vela's paths and units depend only on these
	for _, m := range cfg.Machines {
		kind := fmt.Sprint(m.Role, m.Static(), m.Disk != "", m.MAC != "")
		if kinds[kind] {
			continue
		}
		kinds[kind] = true
		base, err := baseConfig(placeholderInput(cfg, baseDir, m.Name))
		if err != nil {
			continue // a config Render refuses is reported by Render itself
		}
		o := ownedEntries(base)
		for _, s := range snips {
			path := fmt.Sprintf("butane[%d]", s.index)
			for _, c := range conflicts(o, s.cfg) {
				if seen[path+c.what] {
					continue
				}
				seen[path+c.what] = true
				p := problem{line: keyLine(s.text, c.key), msg: c.String() + fmt.Sprintf(" (on %s and machines like it)", m.Name),
					hint: "remove it from the snippet; to change a Vela unit, give the snippet's unit only dropins"}
				file := ""
				if cfg.Butane[s.index].Path != "" {
					file = snippetFile(cfg.Butane[s.index].Path, baseDir)
					path += ".path"
				} else {
					path += ".inline"
				}
				diags = append(diags, snippetDiag(src, path, file, s.name, p))
			}
		}
	}
	return diags
}

func diagAt(src *config.Source, path, msg, hint string) config.Diagnostic {
	d := config.Diagnostic{Severity: config.Error, Path: path, Msg: msg, Hint: hint}
	if src != nil {
		d.File, d.Pos = src.File, src.Pos(path)
	}
	return d
}

// snippetDiag places a snippet problem: in the snippet's own file for a
// path snippet; in the install config for an inline one, mapping the
// snippet's line to the file's when the snippet is a block scalar (| or >).
func snippetDiag(src *config.Source, path, file, name string, p problem) config.Diagnostic {
	d := diagAt(src, path, fmt.Sprintf("snippet %q %s", name, p), p.hint)
	if file != "" {
		d.File, d.Pos = file, config.Pos{Line: p.line, Col: p.col}
		return d
	}
	if src == nil || d.Pos.Line == 0 || p.line == 0 {
		return d
	}
	indent, ok := blockIndent(src.File, d.Pos)
	if !ok {
		return d // a quoted scalar: keep the snippet's own line in the message
	}
	d.Pos = config.Pos{Line: d.Pos.Line + p.line}
	if p.col > 0 {
		d.Pos.Col = indent + p.col
	}
	d.Msg = fmt.Sprintf("snippet %q: %s", name, p.msg)
	return d
}

// blockIndent tells whether the value at pos in file starts a block scalar
// and returns the indentation of its content.
func blockIndent(file string, pos config.Pos) (int, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	lines := strings.Split(string(b), "\n")
	if pos.Line > len(lines) || pos.Col < 1 || pos.Col > len(lines[pos.Line-1]) {
		return 0, false
	}
	if c := lines[pos.Line-1][pos.Col-1]; c != '|' && c != '>' {
		return 0, false
	}
	for _, l := range lines[pos.Line:] {
		if strings.TrimSpace(l) != "" {
			return len(l) - len(strings.TrimLeft(l, " ")), true
		}
	}
	return 0, true
}

func snippetFile(p, baseDir string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(baseDir, p)
}

// Check reports what only rendering can find in a config that
// config.Validate accepted: operator snippets that do not translate, or
// that collide with Vela's own files and units. `vela config validate` and
// `vela install` run it after the config's own validation.
func Check(cfg *config.Config, src *config.Source, baseDir string) config.Diagnostics {
	return CheckSnippets(cfg, src, baseDir)
}
