package config

import "embed"

//go:embed examples/*.yaml
var examples embed.FS

// Example returns the fully commented example config: the rack example, or
// with lab the built-in lab default (examples/lab.yaml in the repository).
func Example(lab bool) []byte {
	name := "examples/rack.yaml"
	if lab {
		name = "examples/lab.yaml"
	}
	b, err := examples.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}
