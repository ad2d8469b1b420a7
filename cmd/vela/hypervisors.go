package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/cluster/api"
)

func newHypervisorsCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:     "hypervisors",
		Aliases: []string{"hv"},
		Short:   "List hypervisors and drain or undrain them",
		Long: `Show the hypervisors registered by their agents (capacity, what the nodes
placed on them reserve, state, last heartbeat) and drain or undrain them.

States: ready (takes new nodes), draining (an admin drained it: no new nodes
are placed there, its nodes keep running), unreachable (no heartbeat for 3
heartbeat intervals, 30 s by default; a drained hypervisor that is also
unreachable shows "unreachable,draining").
The endpoint, admin token and CA come from --server/--token-file/--ca-file or
from VELA_SERVER / VELA_TOKEN / VELA_CA, as for "vela members".`,
		Example: `  vela hypervisors ls
  vela hypervisors get hv-1 -o json
  vela hypervisors drain hv-1     # before maintenance
  vela hypervisors undrain hv-1`,
	}
	af.add(cmd)
	cmd.AddCommand(newHypervisorsLsCmd(&af), newHypervisorsGetCmd(&af), newHypervisorsDrainCmd(&af, true), newHypervisorsDrainCmd(&af, false))
	return cmd
}

func newHypervisorsLsCmd(af *apiFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List hypervisors: state, CPUs, memory and disk (allocated/total), nodes, last heartbeat",
		Long: `List hypervisors. MEMORY and DISK are what the nodes placed on the hypervisor
reserve, over its capacity; NODES counts those nodes; LAST-SEEN is the time
since its last registration or heartbeat.`,
		Example: `  vela hypervisors ls
  vela hypervisors ls -o json | jq '.[] | select(.unreachable)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			hs, err := c.Hypervisors(cmd.Context())
			if err != nil {
				return err
			}
			return printHypervisors(cmd.OutOrStdout(), output, hs, time.Now())
		},
	}
	addOutput(cmd, &output)
	return cmd
}

func newHypervisorsGetCmd(af *apiFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show one hypervisor (versions, usage from its last heartbeat, allocation)",
		Long: `Show one hypervisor: state, address, capacity and what its nodes reserve,
libvirt/kernel/node image versions, and the usage its agent's last heartbeat
reported. -o json prints the API object.`,
		Example: `  vela hypervisors get hv-1 -o json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			h, err := c.Hypervisor(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if output == outTable {
				return printHypervisor(cmd.OutOrStdout(), h, time.Now())
			}
			return printList(cmd.OutOrStdout(), output, h, nil)
		},
	}
	addOutput(cmd, &output)
	return cmd
}

func newHypervisorsDrainCmd(af *apiFlags, drain bool) *cobra.Command {
	use, short, example := "drain NAME", "Place no new nodes on a hypervisor (its nodes keep running)", `  vela hypervisors drain hv-1`
	if !drain {
		use, short, example = "undrain NAME", "Let a drained hypervisor take new nodes again", `  vela hypervisors undrain hv-1`
	}
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Long:    short + ". The state is kept when the agent registers again.",
		Example: example,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			h, err := c.Drain(cmd.Context(), args[0], drain)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "hypervisor %s: %s\n", h.Name, stateOf(h))
			return nil
		},
	}
}

// stateOf is the STATE column.
func stateOf(h api.HypervisorStatus) string {
	if h.Unreachable && h.Draining {
		return "unreachable,draining"
	}
	if h.State == "" {
		return "registered"
	}
	return h.State
}

func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}

func printHypervisors(w io.Writer, output string, hs []api.HypervisorStatus, now time.Time) error {
	return printList(w, output, hs, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "NAME\tSTATE\tCPUS\tMEMORY(alloc/total)\tDISK\tNODES\tLAST-SEEN")
		for _, h := range hs {
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s/%s\t%s/%s\t%d\t%s\n", h.Name, stateOf(h), h.Allocated.VCPUs, h.CPUs,
				humanBytes(h.Allocated.MemoryBytes), humanBytes(h.MemoryBytes), humanBytes(h.Allocated.DiskBytes), humanBytes(h.DiskBytes),
				h.Allocated.Nodes, ago(h.LastSeen, now))
		}
	})
}

func printHypervisor(w io.Writer, h api.HypervisorStatus, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, row := range [][2]string{
		{"Name", h.Name},
		{"State", stateOf(h)},
		{"Address", h.Address},
		{"CPUs", fmt.Sprintf("%d (vCPUs allocated %d)", h.CPUs, h.Allocated.VCPUs)},
		{"Memory", fmt.Sprintf("%s (allocated %s)", humanBytes(h.MemoryBytes), humanBytes(h.Allocated.MemoryBytes))},
		{"Disk", fmt.Sprintf("%s free for nodes (allocated %s)", humanBytes(h.DiskBytes), humanBytes(h.Allocated.DiskBytes))},
		{"Nodes", fmt.Sprintf("%d placed (last heartbeat: %d on the host)", h.Allocated.Nodes, h.Usage.Nodes)},
		{"libvirt", fmt.Sprintf("%s (reachable: %t)", h.LibvirtVersion, h.Usage.LibvirtReachable)},
		{"Kernel", h.KernelVersion},
		{"Node image", h.ImageVersion},
		{"Last seen", ago(h.LastSeen, now)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}
