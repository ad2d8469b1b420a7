package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds an install config; a rack of thousands of machines
// fits in a fraction of it.
const MaxFileSize = 1 << 20

// Source remembers where each value of a loaded config was written.
type Source struct {
	File string
	pos  map[string]Pos
	// suggested holds the paths an unknown key was probably meant to be;
	// they are not reported missing on top of the unknown key.
	suggested map[string]bool
}

// Pos returns where path (or its nearest written parent) is in the file.
func (s *Source) Pos(path string) Pos {
	if s == nil {
		return Pos{}
	}
	for {
		if p, ok := s.pos[path]; ok {
			return p
		}
		if path == "" {
			return Pos{}
		}
		path = parentPath(path)
	}
}

// Has tells whether path was written in the file (not defaulted).
func (s *Source) Has(path string) bool {
	if s == nil {
		return false
	}
	_, ok := s.pos[path]
	return ok
}

func parentPath(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '.' || p[i] == '[' {
			return p[:i]
		}
	}
	return ""
}

// Load reads, decodes, defaults and validates the config at path ("-" reads
// standard input). The config is nil when the file could not be decoded;
// otherwise it is returned with every diagnostic, errors and warnings.
func Load(path string) (*Config, *Source, Diagnostics) {
	var (
		data []byte
		err  error
		name = path
	)
	if path == "-" {
		name = "<stdin>"
		data, err = io.ReadAll(io.LimitReader(os.Stdin, MaxFileSize+1))
	} else {
		data, err = readLimited(path)
	}
	if err != nil {
		return nil, nil, Diagnostics{{File: name, Msg: fmt.Sprintf("cannot read the install config: %v", err),
			Hint: "check the path and its permissions"}}
	}
	return Parse(name, data)
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxFileSize+1))
}

// Parse decodes data (named name in messages), applies defaults and validates.
func Parse(name string, data []byte) (*Config, *Source, Diagnostics) {
	cfg, src, diags := Decode(name, data)
	if cfg == nil {
		return nil, src, diags
	}
	ApplyDefaults(cfg)
	// Validate what did decode too, so the operator sees every problem in
	// one pass, but say nothing more about a value that failed to decode.
	decoded := append(Diagnostics(nil), diags...)
	for _, d := range Validate(cfg, src) {
		if !decoded.covers(d.Path) && !src.suggested[d.Path] {
			diags = append(diags, d)
		}
	}
	diags.Sort()
	return cfg, src, diags
}

// Decode turns YAML into a Config strictly: unknown keys, duplicate keys and
// wrong types are errors, all reported together. It applies no defaults.
func Decode(name string, data []byte) (*Config, *Source, Diagnostics) {
	src := &Source{File: name, pos: map[string]Pos{}, suggested: map[string]bool{}}
	fail := func(p Pos, msg, hint string) (*Config, *Source, Diagnostics) {
		return nil, src, Diagnostics{{File: name, Pos: p, Msg: msg, Hint: hint}}
	}
	if len(data) > MaxFileSize {
		return fail(Pos{}, fmt.Sprintf("file is larger than %d KiB", MaxFileSize>>10),
			"an install config is a short YAML file; check that this is the right file")
	}
	if p, ok := binaryAt(data); ok {
		return fail(p, "file is not text (it holds a NUL byte or invalid UTF-8)",
			"an install config is YAML text; start from `vela config example`")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return fail(Pos{}, "file is empty", "start from `vela config example > rack.yaml`")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return fail(yamlErrPos(err), "not valid YAML: "+yamlErrMsg(err), "fix the syntax at that line")
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		p := Pos{Line: extra.Line, Col: extra.Column}
		if err != nil {
			p = yamlErrPos(err)
		}
		return fail(p, "more than one YAML document", "keep one document (remove the extra ---)")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return fail(Pos{root.Line, root.Column}, "the file must be a mapping of keys (version, network, machines, ...)",
			"start from `vela config example`")
	}
	if ds := checkVersion(name, root); len(ds) > 0 {
		return nil, src, ds
	}
	d := &decoder{file: name, src: src, budget: 100000}
	cfg := &Config{}
	d.value(root, reflectValue(cfg), "")
	return cfg, src, d.diags
}

// checkVersion reads `version` before anything else: a file of another
// schema version is not decoded at all.
func checkVersion(name string, root *yaml.Node) Diagnostics {
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "version" {
			continue
		}
		n, err := strconv.Atoi(v.Value)
		switch {
		case v.Kind != yaml.ScalarNode || err != nil:
			return Diagnostics{{File: name, Pos: Pos{v.Line, v.Column}, Path: "version",
				Msg: fmt.Sprintf("%q is not a schema version", v.Value), Hint: "write `version: 1`"}}
		case n > SchemaVersion:
			return Diagnostics{{File: name, Pos: Pos{v.Line, v.Column}, Path: "version",
				Msg:  fmt.Sprintf("schema version %d is newer than this vela understands (%d)", n, SchemaVersion),
				Hint: "upgrade vela, or rewrite the file for version 1 (`vela config example`)"}}
		case n != SchemaVersion:
			return Diagnostics{{File: name, Pos: Pos{v.Line, v.Column}, Path: "version",
				Msg: fmt.Sprintf("unknown schema version %d", n), Hint: "write `version: 1`"}}
		}
		return nil
	}
	return Diagnostics{{File: name, Pos: Pos{root.Line, root.Column}, Path: "version",
		Msg: "missing", Hint: "add `version: 1` as the first line"}}
}

// binaryAt reports the position of the first NUL byte or invalid UTF-8.
func binaryAt(data []byte) (Pos, bool) {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == 0 || (r == utf8.RuneError && size <= 1) {
			return Pos{line, col}, true
		}
		if r == '\n' {
			line, col = line+1, 0
		}
		col++
		i += size
	}
	return Pos{}, false
}

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

func yamlErrPos(err error) Pos {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if len(m) == 2 && m[1] != "" {
		n, _ := strconv.Atoi(m[1])
		return Pos{Line: n}
	}
	return Pos{}
}

func yamlErrMsg(err error) string { return yamlLineRE.ReplaceAllString(err.Error(), "") }
