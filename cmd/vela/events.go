package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/fsm"
)

func newEventsCmd() *cobra.Command {
	var (
		af      apiFlags
		after   uint64
		limit   int
		follow  bool
		output  string
		cluster string
		tenant  string
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show events: who changed what, when (all of them, or one cluster's)",
		Long: `Every state change appends an event (log index, time, actor, kind, action,
object, and for some a message). The last 10000 are kept. --follow keeps
printing new ones.

Without --cluster it shows every event and needs an admin token. With
--cluster NAME it shows that cluster's events only: its own and its nodes'
changes and the autoscaler's verdicts with their figures ("memory 83% of 8 GiB
reserved >= 80%: adding 1 node", or why it could not add one). A tenant token
reads its own clusters; an admin adds --tenant (or writes TENANT/NAME).

-o json prints one JSON object per line (a stream, also with --follow);
-o yaml one YAML document per event.`,
		Example: `  vela events --limit 20
  vela events --after 1200 --follow
  vela events --cluster web
  vela events --cluster acme/web -f -o json | jq -r .message`,
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			switch output {
			case "table", "json", "yaml":
			default:
				return fmt.Errorf("--output %q: want table, json or yaml", output)
			}
			if t, n, ok := strings.Cut(cluster, "/"); ok {
				if tenant != "" && tenant != t {
					return fmt.Errorf("--cluster %s names tenant %q but --tenant is %q: give one", cluster, t, tenant)
				}
				tenant, cluster = t, n
			}
			if tenant != "" && cluster == "" {
				return fmt.Errorf("--tenant needs --cluster NAME")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			read := func(ctx context.Context, after uint64) ([]fsm.Event, error) {
				if cluster != "" {
					return c.ClusterEvents(ctx, tenant, cluster, client.EventQuery{After: after, Limit: limit})
				}
				return c.Events(ctx, after, limit)
			}
			return streamEvents(cmd.Context(), cmd.OutOrStdout(), read, after, limit, follow, output)
		},
	}
	af.add(cmd)
	f := cmd.Flags()
	f.Uint64Var(&after, "after", 0, "show events after this index")
	f.IntVar(&limit, "limit", 100, "at most this many per request (1 to 1000)")
	f.BoolVarP(&follow, "follow", "f", false, "keep printing new events")
	f.StringVarP(&output, "output", "o", "table", "table, json (one object per line) or yaml")
	f.StringVar(&cluster, "cluster", "", "only this cluster's events (NAME, or TENANT/NAME for an admin)")
	f.StringVar(&tenant, "tenant", "", "the cluster's tenant (default: the token's; an admin must pass it)")
	return cmd
}

// streamEvents prints the events read after an index, and with follow keeps
// polling (every second) until ctx ends.
func streamEvents(ctx context.Context, out io.Writer, read func(context.Context, uint64) ([]fsm.Event, error), after uint64, limit int, follow bool, output string) error {
	header := output == "table"
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		evs, err := read(ctx, after)
		if err != nil {
			if follow && ctx.Err() != nil {
				return nil
			}
			if client.StatusOf(err) == 404 {
				return fmt.Errorf("%w (a tenant token reads its own clusters; an admin passes --tenant)", err)
			}
			return err
		}
		if err := printEvents(out, evs, output, header); err != nil {
			return err
		}
		header = false
		if len(evs) > 0 {
			after = evs[len(evs)-1].Index
		}
		if !follow {
			return nil
		}
		if len(evs) == limit {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// printEvents writes one batch: table rows (with the header if asked),
// JSON lines, or YAML documents.
func printEvents(out io.Writer, evs []fsm.Event, output string, header bool) error {
	switch output {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false) // messages hold ">="
		for _, e := range evs {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	case "yaml":
		for _, e := range evs {
			fmt.Fprintln(out, "---")
			if err := printList(out, "yaml", e, nil); err != nil {
				return err
			}
		}
		return nil
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if header {
		fmt.Fprintln(w, "INDEX\tTIME\tACTOR\tKIND\tACTION\tOBJECT\tMESSAGE")
	}
	for _, e := range evs {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Index, e.Time.Format(time.RFC3339), orDash(e.Actor), e.Kind, e.Action, e.Object, e.Message)
	}
	return w.Flush()
}
