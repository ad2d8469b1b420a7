package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/installer/lab"
	"github.com/vela-appliance/vela/installer/steps"
)

func newLabCmd() *cobra.Command {
	var stateDir string
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Show or remove the lab (qemu VMs on a private bridge standing in for a rack)",
		Long: `The lab is made by "vela install --config examples/lab.yaml" (make lab).
status shows its bridge and VMs; down removes every VM, tap, bridge and iptables rule it
made — and nothing it did not make — and forgets the install progress, so the next
install starts over.`,
		Example: `  vela lab status
  vela lab down`,
	}
	cmd.PersistentFlags().StringVar(&stateDir, "state-dir", "/var/lib/vela/install", "state dir of the lab install")
	cmd.AddCommand(&cobra.Command{
		Use:     "status",
		Short:   "Show the lab bridge and VMs",
		Example: "  vela lab status --state-dir /var/lib/vela/install",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := lab.Open(stateDir)
			if err != nil {
				return err
			}
			st, err := l.Status()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if st.Bridge == "" && len(st.VMs) == 0 {
				fmt.Fprintf(out, "no lab in %s (make lab creates one)\n", stateDir)
				return nil
			}
			fmt.Fprintf(out, "bridge %s up=%v; iptables rules %d; taps %d\n", st.Bridge, st.BridgeUp, len(st.Owned.Iptables), len(st.Owned.Taps))
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VM\tMAC\tRUNNING\tPID\tACCEL\tFIRMWARE\tCONSOLE")
			for _, vm := range st.VMs {
				fmt.Fprintf(tw, "%s\t%s\t%v\t%d\t%s\t%s\t%s\n", vm.Name, vm.MAC, vm.Running, vm.PID, vm.Accel, vm.Firmware, vm.Console)
			}
			return tw.Flush()
		},
	}, &cobra.Command{
		Use:     "down",
		Short:   "Remove every VM, tap, bridge and iptables rule the lab made",
		Example: "  vela lab down",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := lab.Open(stateDir)
			if err != nil {
				return err
			}
			if err := l.Down(cmd.Context()); err != nil {
				return err
			}
			// The lab's VMs are diskless and gone: their cluster, secrets and
			// configs are worthless; the next `make lab` makes new ones.
			if _, err := steps.StartOver(stateDir, false); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "lab removed; `make lab` starts a new one")
			return nil
		},
	})
	return cmd
}
