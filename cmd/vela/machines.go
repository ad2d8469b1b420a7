package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/pxe/inventory"
)

func newMachinesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "machines",
		Short: "Machines seen by the boot services",
		Example: `  vela machines ls
  vela machines ls --state-dir ./pxe-state -o json`,
	}
	cmd.AddCommand(newMachinesLsCmd())
	return cmd
}

func newMachinesLsCmd() *cobra.Command {
	var stateDir, output string
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List discovered machines: booted on the boot network but not in the install config",
		Long: `List the machines that network-booted but are in no install config, as recorded
by 'vela pxe serve' in its state dir: MAC, SMBIOS UUID, firmware architecture,
last IP address, first and last seen. Add one to machines[] (by mac or uuid) to
boot it.`,
		Example: `  vela machines ls
  vela machines ls --state-dir ./pxe-state -o json | jq -r '.[].mac'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := inventory.ListDiscovered(stateDir)
			if err != nil {
				return err
			}
			switch output {
			case "json":
				b, err := json.MarshalIndent(list, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
				return err
			case "text":
			default:
				return exitError{code: 1, msg: fmt.Sprintf("--output %q: use text or json", output)}
			}
			if len(list) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "no discovered machines recorded in %s\n", stateDir)
				return nil
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "MAC\tUUID\tARCH\tIP\tFIRST SEEN\tLAST SEEN")
			for _, d := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", d.MAC, dash(d.UUID), dash(d.Arch), dash(d.IP),
					d.FirstSeen.Format(time.RFC3339), d.LastSeen.Format(time.RFC3339))
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&stateDir, "state-dir", "/var/lib/vela/pxe", "state dir of 'vela pxe serve'")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
