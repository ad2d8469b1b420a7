package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// Output formats of list and get commands.
const (
	outTable = "table"
	outJSON  = "json"
	outYAML  = "yaml"
)

// outputValue is the --output flag: table, json or yaml; "text" (the
// older spelling of some commands) is kept as an alias of table, so
// scripts written against it do not break. Checked when parsed, before any
// API call.
type outputValue struct{ p *string }

func (o outputValue) String() string { return *o.p }
func (o outputValue) Type() string   { return "format" }
func (o outputValue) Set(s string) error {
	switch s {
	case outTable, "text", "":
		*o.p = outTable
	case outJSON, outYAML:
		*o.p = s
	default:
		return fmt.Errorf("want table, json or yaml (got %q)", s)
	}
	return nil
}

// addOutput adds -o/--output (table, json or yaml; default table).
func addOutput(cmd *cobra.Command, output *string) {
	*output = outTable
	cmd.Flags().VarP(outputValue{output}, "output", "o", "table, json or yaml (text: same as table)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{outTable, outJSON, outYAML}, cobra.ShellCompDirectiveNoFileComp))
}

// printList writes v as JSON or YAML, or calls table for --output table.
// JSON and YAML carry the API's field names (YAML goes through JSON).
func printList(w io.Writer, output string, v any, table func(*tabwriter.Writer)) error {
	switch output {
	case "", outTable, "text":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		table(tw)
		return tw.Flush()
	case outJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case outYAML:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var generic any
		if err := json.Unmarshal(b, &generic); err != nil {
			return err
		}
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(generic); err != nil {
			return err
		}
		return enc.Close()
	}
	return fmt.Errorf("--output %q: want table, json or yaml", output)
}
