package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newEventsCmd() *cobra.Command {
	var (
		af     apiFlags
		after  uint64
		limit  int
		follow bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show the control plane's events: who changed what, when",
		Long: `Every state change appends an event (log index, time, actor, kind, action,
object). The last 10000 are kept. --follow keeps printing new ones.`,
		Example: `  vela events --limit 20
  vela events --after 1200 --follow
  vela events -o json | jq .`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			enc := json.NewEncoder(out)
			header := !asJSON
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				evs, err := c.Events(cmd.Context(), after, limit)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				if header {
					fmt.Fprintln(w, "INDEX\tTIME\tACTOR\tKIND\tACTION\tOBJECT")
					header = false
				}
				for _, e := range evs {
					if asJSON {
						_ = enc.Encode(e)
					} else {
						fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Index, e.Time.Format(time.RFC3339), e.Actor, e.Kind, e.Action, e.Object)
					}
					after = e.Index
				}
				_ = w.Flush()
				if !follow {
					return nil
				}
				if len(evs) == limit {
					continue
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-tick.C:
				}
			}
		},
	}
	af.add(cmd)
	f := cmd.Flags()
	f.Uint64Var(&after, "after", 0, "show events after this index")
	f.IntVar(&limit, "limit", 100, "at most this many per request (1 to 1000)")
	f.BoolVarP(&follow, "follow", "f", false, "keep printing new events")
	var output string
	f.StringVarP(&output, "output", "o", "table", "table or json")
	cmd.PreRunE = func(*cobra.Command, []string) error {
		switch output {
		case "table":
		case "json":
			asJSON = true
		default:
			return fmt.Errorf("--output %q: want table or json", output)
		}
		return nil
	}
	return cmd
}
