package plan

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Print writes the plan for people: one numbered line per step.
func Print(w io.Writer, p Plan) error {
	fmt.Fprintf(w, "Plan for %q: %d steps (config %s)\n", p.Name, len(p.Steps), p.Hash[:12])
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, s := range p.Steps {
		note := ""
		if s.Service {
			note = " (runs for the whole install)"
		}
		fmt.Fprintf(tw, "%3d.\t%s\t%s%s\n", i+1, s.ID, s.Title, note)
	}
	return tw.Flush()
}
