package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decoder walks a YAML node tree into Go values, recording the position of
// every value and collecting every problem instead of stopping at the first.
type decoder struct {
	file   string
	src    *Source
	diags  Diagnostics
	budget int // nodes left to visit; bounds alias expansion
}

func reflectValue(p any) reflect.Value { return reflect.ValueOf(p).Elem() }

func (d *decoder) errorf(n *yaml.Node, path, hint, format string, args ...any) {
	d.diags = append(d.diags, Diagnostic{File: d.file, Pos: Pos{n.Line, n.Column}, Path: path,
		Msg: fmt.Sprintf(format, args...), Hint: hint})
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if d.budget--; d.budget < 0 {
		if d.budget == -1 {
			d.errorf(n, path, "remove anchors and aliases that expand to a huge document", "file expands to too many values")
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		d.value(n.Alias, v, path)
		return
	}
	d.src.pos[path] = Pos{n.Line, n.Column}
	if s, ok := v.Addr().Interface().(scalar); ok {
		if !d.wantScalar(n, path, "a value") {
			return
		}
		if isNull(n) {
			return
		}
		if err := s.parseScalar(n.Value); err != nil {
			d.errorf(n, path, "", "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		d.value(n, v.Elem(), path)
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		d.sequence(n, v, path)
	case reflect.String:
		if d.wantScalar(n, path, "a string") && !isNull(n) {
			v.SetString(n.Value)
		}
	case reflect.Int:
		if !d.wantScalar(n, path, "a whole number") || isNull(n) {
			return
		}
		i, err := strconv.ParseInt(n.Value, 10, 32)
		if err != nil || n.Tag != "!!int" {
			d.errorf(n, path, "write digits only, e.g. 3", "want a whole number, got %q", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		if !d.wantScalar(n, path, "true or false") || isNull(n) {
			return
		}
		var b bool
		if n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.errorf(n, path, "write true or false", "want true or false, got %q", n.Value)
			return
		}
		v.SetBool(b)
	default:
		panic(fmt.Sprintf("config: no decoder for %s", v.Type())) // programming error in types.go
	}
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func (d *decoder) wantScalar(n *yaml.Node, path, want string) bool {
	if n.Kind == yaml.ScalarNode {
		return true
	}
	d.errorf(n, path, "", "want %s, got %s", want, kindName(n))
	return false
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping (key: value lines)"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "start each item with \"- \" on its own line", "want a list, got %s", kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.value(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "indent its fields under it as key: value lines", "want a mapping, got %s", kindName(n))
		return
	}
	fields := fieldsByKey(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		kp := joinPath(path, k.Value)
		switch {
		case k.Kind != yaml.ScalarNode:
			d.errorf(k, path, "keys are plain words", "a key must be a plain word, got %s", kindName(k))
			continue
		case k.Value == "<<":
			d.errorf(k, path, "write the fields out instead", "merge keys (<<) are not supported")
			continue
		case seen[k.Value]:
			d.errorf(k, kp, "keep one of them", "key written twice")
			continue
		}
		seen[k.Value] = true
		idx, ok := fields[k.Value]
		if !ok {
			hint, guess := unknownHint(k.Value, fields)
			if guess != "" {
				d.src.suggested[joinPath(path, guess)] = true
			}
			d.errorf(k, kp, hint, "unknown key")
			continue
		}
		d.value(val, v.Field(idx), kp)
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func fieldsByKey(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

func unknownHint(key string, fields map[string]int) (hint, guess string) {
	var names []string
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	best, bestD := "", 3
	for _, k := range names {
		if dist := editDistance(strings.ToLower(key), k); dist < bestD {
			best, bestD = k, dist
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %q?", best), best
	}
	return "known keys here: " + strings.Join(names, ", "), ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
