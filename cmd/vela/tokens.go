package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/fsm"
)

func newTokensCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Create, list and revoke API tokens (admin)",
		Long: `An API token is shown once, when created; only its hash is stored. A
tenant token reaches only its tenant's clusters; an admin token reaches all.`,
		Example: `  vela tokens create --tenant acme --name ci > acme.token
  vela tokens ls
  vela tokens rm abcd2345`,
	}
	af.add(cmd)
	cmd.AddCommand(newTokensCreateCmd(&af), newTokensLsCmd(&af), newTokensRmCmd(&af))
	return cmd
}

func newTokensCreateCmd(af *apiFlags) *cobra.Command {
	var tenant, name string
	var admin bool
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a token for a tenant (or --admin); the secret is printed once on stdout",
		Long:  "Create an API token for a tenant (it reaches only that tenant's clusters) or,\nwith --admin, an admin token. The token is printed once on stdout; the API\nkeeps only its SHA-256, so a lost token cannot be shown again: revoke it and\ncreate another.",
		Example: `  vela tokens create --tenant acme > acme.token
  VELA_TOKEN=$(cat acme.token) vela cluster ls`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := api.APITokenRequest{Name: name, Scope: fsm.ScopeTenant, Tenant: tenant}
			switch {
			case admin && tenant != "":
				return fmt.Errorf("--admin and --tenant exclude each other")
			case admin:
				req.Scope, req.Tenant = fsm.ScopeAdmin, ""
			case tenant == "":
				return fmt.Errorf("pass --tenant NAME (or --admin for an admin token)")
			}
			if req.Name == "" {
				req.Name = tenant
				if admin {
					req.Name = "admin"
				}
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			t, err := c.CreateToken(cmd.Context(), req)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), t.Token)
			fmt.Fprintf(cmd.ErrOrStderr(), "token %s (%s) created; it is shown only now, store it safely\n", t.ID, req.Scope)
			return nil
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant the token belongs to")
	cmd.Flags().StringVar(&name, "name", "", "a label for the token (default: the tenant's name)")
	cmd.Flags().BoolVar(&admin, "admin", false, "an admin token instead")
	return cmd
}

func newTokensLsCmd(af *apiFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "ls",
		Short:   "List API tokens (IDs, names, scopes; never secrets)",
		Long:    "List API tokens: ID, name, scope, tenant and creation time. Secrets and\nhashes are never shown.",
		Example: `  vela tokens ls`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			ts, err := c.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			return printList(cmd.OutOrStdout(), output, ts, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tNAME\tSCOPE\tTENANT\tCREATED")
				for _, t := range ts {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Scope, t.Tenant, t.Created.Format(time.RFC3339))
				}
			})
		},
	}
	addOutput(cmd, &output)
	return cmd
}

func newTokensRmCmd(af *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "rm ID",
		Short:   "Revoke an API token",
		Long:    "Revoke an API token by its ID (the middle part of vapi.ID.SECRET, shown by\n`vela tokens ls`). Requests with it fail with 401 from then on.",
		Example: `  vela tokens rm abcd2345`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			if err := c.DeleteToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token %s revoked\n", args[0])
			return nil
		},
	}
}
