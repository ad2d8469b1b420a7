package cpinventory

import (
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/vela-appliance/vela/ignition"
	"github.com/vela-appliance/vela/installer/config"
)

// PortableConfig writes a loaded install config as the YAML the control
// plane stores (client.PutInstallConfig): self-contained, with every Butane
// snippet given by path read (relative to baseDir) and inlined, and unset
// values left out so that loading it applies the same defaults.
func PortableConfig(c *config.Config, baseDir string) ([]byte, error) {
	cp := *c
	cp.Butane = nil
	for _, s := range c.Butane {
		if s.Path != "" {
			p := s.Path
			if !filepath.IsAbs(p) {
				p = filepath.Join(baseDir, p)
			}
			st, err := os.Stat(p)
			if err != nil {
				return nil, fmt.Errorf("butane snippet %q: %v; paths are relative to the install config's directory", s.Name, err)
			}
			if st.Size() > ignition.MaxSnippetSize {
				return nil, fmt.Errorf("butane snippet %q: %s is %d KiB, over the %d KiB limit", s.Name, p, st.Size()>>10, ignition.MaxSnippetSize>>10)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("butane snippet %q: %v", s.Name, err)
			}
			s = config.Snippet{Name: s.Name, Inline: string(b)}
		}
		cp.Butane = append(cp.Butane, s)
	}
	var doc yaml.Node
	if err := doc.Encode(&cp); err != nil {
		return nil, fmt.Errorf("encode the install config: %w", err)
	}
	prune(&doc)
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("encode the install config: %w", err)
	}
	if _, err := ParseConfig(out); err != nil {
		return nil, fmt.Errorf("the portable install config does not load back: %w", err)
	}
	return out, nil
}

// prune removes mapping entries whose value is unset: null, "", 0, an empty
// sequence or mapping (after pruning).
func prune(n *yaml.Node) {
	for _, c := range n.Content {
		prune(c)
	}
	if n.Kind != yaml.MappingNode {
		return
	}
	kept := n.Content[:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		if v := n.Content[i+1]; !unset(v) {
			kept = append(kept, n.Content[i], v)
		}
	}
	n.Content = kept
}

func unset(v *yaml.Node) bool {
	switch v.Kind {
	case yaml.ScalarNode:
		return v.Tag == "!!null" || (v.Value == "" && v.Style == 0) || (v.Tag == "!!str" && v.Value == "") || (v.Tag == "!!int" && v.Value == "0")
	case yaml.SequenceNode, yaml.MappingNode:
		return len(v.Content) == 0
	}
	return false
}
