package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/cluster/fsm"
)

func newTenantsCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "tenants",
		Short: "Create, list and remove tenants (admin)",
		Long: `Tenants own clusters, within quotas (max_clusters, default 3, and
max_nodes_per_cluster, default 10). Give a tenant a token with
` + "`vela tokens create --tenant NAME`" + `. Needs an admin token.`,
		Example: `  vela tenants create acme --max-clusters 5
  vela tenants ls
  vela tenants rm acme`,
	}
	af.add(cmd)
	cmd.AddCommand(newTenantsCreateCmd(&af), newTenantsLsCmd(&af), newTenantsRmCmd(&af))
	return cmd
}

func newTenantsCreateCmd(af *apiFlags) *cobra.Command {
	var q fsm.Quota
	cmd := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create a tenant (a DNS label) with its quota",
		Long:    "Create a tenant named NAME (a DNS label). Its quota limits how many clusters it\nmay own and how many nodes each may have; 0 keeps the defaults (3 and 10).\nNeeds an admin token.",
		Example: `  vela tenants create acme --max-clusters 5 --max-nodes-per-cluster 20`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			t, err := c.PutTenant(cmd.Context(), args[0], q)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "tenant %s created (max_clusters %d, max_nodes_per_cluster %d); give it a token: vela tokens create --tenant %s\n",
				t.Name, t.Quota.MaxClusters, t.Quota.MaxNodesPerCluster, t.Name)
			return nil
		},
	}
	cmd.Flags().IntVar(&q.MaxClusters, "max-clusters", 0, "clusters the tenant may own (0: default 3)")
	cmd.Flags().IntVar(&q.MaxNodesPerCluster, "max-nodes-per-cluster", 0, "nodes per cluster (0: default 10)")
	return cmd
}

func newTenantsLsCmd(af *apiFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "ls",
		Short:   "List tenants with their quotas",
		Long:    "List every tenant with its quota. Needs an admin token.",
		Example: `  vela tenants ls -o json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			ts, err := c.Tenants(cmd.Context())
			if err != nil {
				return err
			}
			return printList(cmd.OutOrStdout(), output, ts, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NAME\tMAX CLUSTERS\tMAX NODES/CLUSTER")
				for _, t := range ts {
					fmt.Fprintf(w, "%s\t%d\t%d\n", t.Name, t.Quota.MaxClusters, t.Quota.MaxNodesPerCluster)
				}
			})
		},
	}
	addOutput(cmd, &output)
	return cmd
}

func newTenantsRmCmd(af *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "rm NAME",
		Short:   "Remove a tenant that owns no clusters (its tokens are revoked)",
		Long:    "Remove a tenant. Refused while it owns clusters (remove them first with\n`vela cluster rm NAME --tenant TENANT`); its API tokens are revoked with it.",
		Example: `  vela tenants rm acme`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			if err := c.DeleteTenant(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "tenant %s removed\n", args[0])
			return nil
		},
	}
}
