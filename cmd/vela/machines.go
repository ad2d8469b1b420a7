package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/pxe/inventory"
)

func newMachinesCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "machines",
		Short: "Machines of the boot inventory: list, admit, remove",
		Long: `Manage the replicated boot inventory through the API of any member: the
machines the members network-boot (day-2: adding machines) and the machines
seen on the boot network but in no record ("discovered"). The endpoint, admin
token and CA come from --server/--token-file/--ca-file or VELA_SERVER /
VELA_TOKEN / VELA_CA. During an install, 'ls --state-dir' reads the seed's
own record instead.`,
		Example: `  vela machines ls
  vela machines admit rack2-hv7 --mac 0c:c4:7a:00:01:07 --disk /dev/sda
  vela machines rm rack2-hv7
  vela machines ls --state-dir ./pxe-state -o json`,
	}
	af.add(cmd)
	cmd.AddCommand(newMachinesLsCmd(&af), newMachinesAdmitCmd(&af), newMachinesRmCmd(&af), newMachinesForgetCmd(&af))
	return cmd
}

// defaultPXEState is the state dir of 'vela pxe serve'.
const defaultPXEState = "/var/lib/vela/pxe"

func newMachinesLsCmd(af *apiFlags) *cobra.Command {
	var stateDir, output string
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List machines: known ones with their boot state, then discovered ones",
		Long: `List the machines of the control plane's boot inventory (name, MAC, role,
address, disk, state: admitted, config-fetched, reported, installed, failed)
and the discovered machines: those that network-booted but are in no record
(MAC, SMBIOS UUID, firmware architecture, last IP, first and last seen).
Admit a discovered one with 'vela machines admit NAME --mac MAC'.
With --state-dir, or when no API server is named (no --server, VELA_URL,
profile or context file), list the discovered machines recorded by 'vela pxe serve' (the
seed, during an install) in that directory (default ` + defaultPXEState + `).`,
		Example: `  vela machines ls
  vela machines ls -o json | jq -r '.discovered[].mac'
  vela machines ls --state-dir ./pxe-state`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if stateDir == "" && !af.hasServer() {
				stateDir = defaultPXEState // no control plane named: the seed's record
			}
			if stateDir != "" {
				return lsLocal(cmd.OutOrStdout(), stateDir, output)
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			ms, err := c.Machines(cmd.Context())
			if err != nil {
				return err
			}
			ds, err := c.DiscoveredMachines(cmd.Context())
			if err != nil {
				return err
			}
			all := struct {
				Machines   []fsm.Machine           `json:"machines"`
				Discovered []fsm.DiscoveredMachine `json:"discovered"`
			}{ms, ds}
			return printList(cmd.OutOrStdout(), output, all, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NAME\tMAC\tROLE\tADDRESS\tDISK\tSTATE")
				for _, m := range ms {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, dash(m.MAC), dash(m.Role), dash(m.Address), dash(m.Disk), dash(m.State))
				}
				if len(ds) > 0 {
					fmt.Fprintln(w, "\nDISCOVERED MAC\tUUID\tARCH\tIP\tFIRST SEEN\tLAST SEEN")
					for _, d := range ds {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", d.MAC, dash(d.UUID), dash(d.Arch), dash(d.IP),
							d.FirstSeen.Format(time.RFC3339), d.LastSeen.Format(time.RFC3339))
					}
				}
			})
		},
	}
	cmd.Flags().StringVar(&stateDir, "state-dir", "", "read the discovered machines of 'vela pxe serve' in this state dir instead of the API")
	addOutput(cmd, &output)
	return cmd
}

// lsLocal lists the discovered machines of an install-time boot server.
func lsLocal(out io.Writer, stateDir, output string) error {
	list, err := inventory.ListDiscovered(stateDir)
	if err != nil {
		return err
	}
	if output != outTable {
		return printList(out, output, list, nil)
	}
	if len(list) == 0 {
		fmt.Fprintf(out, "no discovered machines recorded in %s\n", stateDir)
		return nil
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "MAC\tUUID\tARCH\tIP\tFIRST SEEN\tLAST SEEN")
	for _, d := range list {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", d.MAC, dash(d.UUID), dash(d.Arch), dash(d.IP),
			d.FirstSeen.Format(time.RFC3339), d.LastSeen.Format(time.RFC3339))
	}
	return w.Flush()
}

func printJSON(out io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", b)
	return err
}

func newMachinesAdmitCmd(af *apiFlags) *cobra.Command {
	var req api.AdmitRequest
	cmd := &cobra.Command{
		Use:   "admit NAME --mac MAC",
		Short: "Admit a machine (discovery.mode: admit): its next network boot installs it",
		Long: `Record a machine in the boot inventory so that the member serving network
boot installs it on its next PXE boot: vela-os (or the stored config's image)
with an Ignition config rendered for it, carrying a single-use join token of
its role. The MAC is usually one 'vela machines ls' lists as discovered; the
stored install config must have discovery.mode: admit. Admitted machines are
hypervisors (the config's discovery.role); members are listed in the install
config. Power-cycle the machine (or wait for its PXE retry) afterwards.`,
		Example: `  vela machines admit rack2-hv7 --mac 0c:c4:7a:00:01:07
  vela machines admit rack2-hv8 --mac 0c:c4:7a:00:01:08 --address 10.0.0.58 --disk /dev/sda`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			req.Name = args[0]
			m, err := c.AdmitMachine(cmd.Context(), req)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "machine %s (%s, %s) admitted: its next network boot installs it\n", m.Name, m.MAC, m.Role)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.MAC, "mac", "", "MAC address of the NIC it network-boots from (required)")
	f.StringVar(&req.Role, "role", "", "hypervisor (default: the install config's discovery.role)")
	f.StringVar(&req.Address, "address", "", "static IPv4 address on the boot network (default: a DHCP lease)")
	f.StringVar(&req.Disk, "disk", "", "install disk such as /dev/sda (default: run live from RAM)")
	_ = cmd.MarkFlagRequired("mac")
	return cmd
}

func newMachinesRmCmd(af *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME",
		Short: "Remove a machine from the boot inventory (it is no longer network-booted)",
		Long: `Delete a machine's record: the boot server stops answering it as a known
machine (its next network boot records it as discovered) and stops serving
its Ignition config. It does not touch the machine, nor its hypervisor or
member entry: drain and remove those first (vela hypervisors, vela members).`,
		Example: `  vela machines rm rack2-hv7`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			return c.DeleteMachine(cmd.Context(), args[0])
		},
	}
}

func newMachinesForgetCmd(af *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "forget MAC",
		Short: "Forget a discovered machine (it is recorded again if it boots again)",
		Long: `Delete a discovered machine's entry, e.g. a laptop that network-booted by
mistake. The table keeps at most 1024 entries anyway, forgetting the machine
seen least recently first.`,
		Example: `  vela machines forget 52:54:00:12:34:99`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			return c.ForgetDiscovered(cmd.Context(), args[0])
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
