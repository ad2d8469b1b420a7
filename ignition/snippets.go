package ignition

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	butane "github.com/coreos/butane/config"
	"github.com/coreos/butane/config/common"
	ign "github.com/coreos/ignition/v2/config/v3_5"
	"github.com/coreos/ignition/v2/config/v3_5/types"

	"github.com/vela-appliance/vela/installer/config"
)

// MaxSnippetSize bounds one operator snippet; big payloads belong behind a
// contents.source URL, not inline in every machine's config.
const MaxSnippetSize = 256 << 10

// MaxConfigSize bounds a rendered config: the initramfs fetches it into RAM.
const MaxConfigSize = 2 << 20

// snippet is an operator snippet translated to Ignition.
type snippet struct {
	index int
	name  string
	text  string // the Butane YAML, to find lines in
	cfg   types.Config
}

// problem is one thing wrong with a snippet, at its own line and column.
type problem struct {
	line, col int
	msg, hint string
}

func (p problem) String() string {
	s := p.msg
	if p.line > 0 {
		s = fmt.Sprintf("line %d: %s", p.line, s)
		if p.col > 0 {
			s = fmt.Sprintf("line %d col %d: %s", p.line, p.col, p.msg)
		}
	}
	return s
}

// readSnippet returns a snippet's Butane text and, for path snippets, the file it came from.
func readSnippet(s config.Snippet, baseDir string) (text, file string, err error) {
	if s.Path == "" {
		if len(s.Inline) > MaxSnippetSize {
			return "", "", fmt.Errorf("inline Butane is %d KiB; the limit is %d KiB: serve large files over HTTP and reference them with contents.source",
				len(s.Inline)>>10, MaxSnippetSize>>10)
		}
		return s.Inline, "", nil
	}
	file = s.Path
	if !filepath.IsAbs(file) {
		file = filepath.Join(baseDir, file)
	}
	st, err := os.Stat(file)
	if err != nil {
		return "", file, fmt.Errorf("cannot read %s: %v; paths are relative to the install config's directory", file, err)
	}
	if st.Size() > MaxSnippetSize {
		return "", file, fmt.Errorf("%s is %d KiB; the limit is %d KiB: serve large files over HTTP and reference them with contents.source",
			file, st.Size()>>10, MaxSnippetSize>>10)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", file, fmt.Errorf("cannot read %s: %v", file, err)
	}
	return string(b), file, nil
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// translateSnippet translates operator Butane strictly (a warning is an
// error) and reads the result as Ignition 3.5.0 (older specs are translated up).
func translateSnippet(text, baseDir string) (types.Config, []problem) {
	out, rpt, err := butane.TranslateBytes([]byte(text), common.TranslateBytesOptions{
		TranslateOptions: common.TranslateOptions{FilesDir: baseDir},
	})
	var probs []problem
	for _, e := range rpt.Entries {
		line, col := e.Marker.Start()
		probs = append(probs, problem{line: int(line), col: int(col), msg: fmt.Sprintf("%s: %s", e.Kind, e.Message),
			hint: "fix the snippet; Vela translates Butane in strict mode, so warnings are errors too"})
	}
	if err != nil && len(probs) == 0 {
		probs = append(probs, translateErr(text, err))
	}
	if len(probs) > 0 {
		return types.Config{}, probs
	}
	cfg, irpt, err := ign.ParseCompatibleVersion(out)
	if err != nil {
		var v struct {
			Ignition struct{ Version string }
		}
		_ = json.Unmarshal(out, &v) // only for the message
		return types.Config{}, []problem{{line: lineOf(text, "version:"),
			msg: fmt.Sprintf("translates to Ignition spec %q, which Vela cannot merge into its spec %s configs: %v %s",
				v.Ignition.Version, SpecVersion, err, strings.TrimSpace(irpt.String())),
			hint: "use variant: fcos with a version up to 1.6.0 (Ignition spec " + SpecVersion + ")"}}
	}
	return cfg, nil
}

// translateErr turns an error Butane returns without a report into a problem.
func translateErr(text string, err error) problem {
	var unknown common.ErrUnknownVersion
	switch {
	case errors.As(err, &unknown), errors.Is(err, common.ErrInvalidVersion):
		return problem{line: lineOf(text, "version:"), msg: err.Error(),
			hint: "use variant: fcos with version 1.0.0 to 1.6.0 (`butane --help` of Butane v0.29 lists them all)"}
	case errors.Is(err, common.ErrNoVariant):
		return problem{line: 1, msg: err.Error(), hint: "start the snippet with `variant: fcos` and `version: 1.6.0`"}
	}
	p := problem{msg: err.Error(), hint: "fix the YAML of the snippet"}
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		p.line, _ = strconv.Atoi(m[1])
	}
	return p
}

// lineOf returns the 1-based line of the first line of text that starts
// with prefix (after indentation), or 0.
func lineOf(text, prefix string) int {
	for i, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return i + 1
		}
	}
	return 0
}

// loadSnippets reads and translates every snippet of the config.
func loadSnippets(c *config.Config, baseDir string) ([]snippet, error) {
	var out []snippet
	for i, s := range c.Butane {
		text, file, err := readSnippet(s, baseDir)
		if err != nil {
			return nil, fmt.Errorf("butane snippet %q (butane[%d]): %v", s.Name, i, err)
		}
		cfg, probs := translateSnippet(text, baseDir)
		if len(probs) > 0 {
			where := "inline"
			if file != "" {
				where = file
			}
			return nil, fmt.Errorf("butane snippet %q (butane[%d], %s) %s; %s; `vela config validate` shows every problem with its line",
				s.Name, i, where, probs[0], probs[0].hint)
		}
		out = append(out, snippet{index: i, name: s.Name, text: text, cfg: cfg})
	}
	return out, nil
}
