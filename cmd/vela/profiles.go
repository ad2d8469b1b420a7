package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/cluster/client"
)

// profileRow is what `vela profiles ls` shows of a profile: never its token.
type profileRow struct {
	Name    string `json:"name"`
	Current bool   `json:"current"`
	Server  string `json:"server"`
	Kind    string `json:"kind,omitempty"`
	Tenant  string `json:"tenant,omitempty"`
	CA      string `json:"ca"`
}

func newProfilesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profiles",
		Short: "List the stored profiles and choose the current one",
		Long: `Profiles are the control planes ` + "`vela login`" + ` stored, in
$XDG_CONFIG_HOME/vela/config.yaml (default ~/.config/vela/config.yaml), as
` + "`docker context`" + ` does for docker: ls lists them, use makes one current.
--profile NAME or VELA_PROFILE=NAME picks another for one command;
` + "`vela logout`" + ` removes one. See ` + "`vela login --help`" + ` for the precedence of
flags, environment and profiles.`,
		Example: `  vela profiles ls
  vela profiles use lab-admin
  vela cluster ls --profile acme`,
	}
	cmd.AddCommand(newProfilesLsCmd(), newProfilesUseCmd())
	return cmd
}

func newProfilesLsCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "ls",
		Short:   "List the stored profiles (the current one marked *)",
		Long:    "List the profiles: name, server, who the token was at login, and where the\nCA comes from. Tokens are never shown.",
		Example: "  vela profiles ls\n  vela profiles ls -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := client.ProfilesPath()
			ps, err := client.LoadProfiles(path)
			if err != nil {
				return err
			}
			rows := []profileRow{}
			for _, n := range ps.Names() {
				p := ps.Profiles[n]
				ca := "embedded"
				if p.CAPEM == "" {
					ca = orDash(p.CAFile)
				}
				rows = append(rows, profileRow{Name: n, Current: n == ps.Current, Server: p.Server, Kind: p.Kind, Tenant: p.Tenant, CA: ca})
			}
			if output == outTable && len(rows) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "no profiles in %s; add one with `vela login URL --token T --ca-file ca.pem`\n", path)
				return nil
			}
			return printList(cmd.OutOrStdout(), output, rows, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "CURRENT\tNAME\tSERVER\tKIND\tTENANT\tCA")
				for _, r := range rows {
					mark := ""
					if r.Current {
						mark = "*"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", mark, r.Name, r.Server, orDash(r.Kind), orDash(r.Tenant), r.CA)
				}
			})
		},
	}
	addOutput(cmd, &output)
	return cmd
}

func newProfilesUseCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "use NAME",
		Short:   "Make a stored profile the current one",
		Long:    "Make NAME the current profile: API commands use it when no flag,\nenvironment variable or --profile says otherwise.",
		Example: "  vela profiles use acme",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := client.ProfilesPath()
			ps, err := client.LoadProfiles(path)
			if err != nil {
				return err
			}
			p, err := ps.Get(args[0])
			if err != nil {
				return err
			}
			ps.Current = args[0]
			if err := ps.Save(path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "profile %q (%s) is current\n", args[0], p.Server)
			return nil
		},
	}
}
