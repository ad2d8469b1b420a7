package wizard

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vela-appliance/vela/installer/config"
)

// Marshal writes c as an install config file: fields in schema order, empty
// ones left out (the loader defaults them), behind a header comment.
func Marshal(c *config.Config) ([]byte, error) {
	n := node(reflect.ValueOf(*c))
	var b bytes.Buffer
	b.WriteString("# Vela install config, written by `vela install` (the interactive installer).\n")
	b.WriteString("# Check it: vela config validate FILE; install: vela install --config FILE\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("writing the install config as YAML: %w", err)
	}
	return b.Bytes(), enc.Close()
}

// node turns a value into a YAML node, omitting zero fields.
func node(v reflect.Value) *yaml.Node {
	if m, ok := v.Interface().(yaml.Marshaler); ok && v.Kind() != reflect.Struct {
		out, _ := m.MarshalYAML()
		return scalar(fmt.Sprint(out))
	}
	switch v.Kind() {
	case reflect.Pointer:
		return node(v.Elem())
	case reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := v.Field(i)
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if name == "" || name == "-" || f.IsZero() || (f.Kind() == reflect.Slice && f.Len() == 0) {
				continue
			}
			if f.Kind() == reflect.Struct && len(node(f).Content) == 0 {
				continue
			}
			n.Content = append(n.Content, scalar(name), node(f))
		}
		return n
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for i := 0; i < v.Len(); i++ {
			n.Content = append(n.Content, node(v.Index(i)))
		}
		return n
	default:
		return scalar(fmt.Sprint(v.Interface()))
	}
}

func scalar(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: s}
	// Let the encoder quote what would read back as another type.
	var probe any
	if err := yaml.Unmarshal([]byte(s), &probe); err != nil || fmt.Sprint(probe) != s {
		n.Style = yaml.DoubleQuotedStyle
	}
	if _, isStr := probe.(string); !isStr {
		if _, isInt := probe.(int); !isInt {
			n.Style = yaml.DoubleQuotedStyle
		}
	}
	return n
}

// readSmallFile reads at most 64 KiB of a file the operator named.
func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 64<<10))
}
