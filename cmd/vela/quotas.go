package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/fsm"
)

func newQuotasCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "quotas",
		Short: "Show or set a tenant's quota",
		Long: `A tenant may own max_clusters clusters (default 3) of at most
max_nodes_per_cluster nodes each (default 10). Requests beyond them are refused
with the figures. A tenant reads its own quota; only an admin sets one.`,
		Example: `  vela quotas get acme
  vela quotas set acme --max-clusters 5 --max-nodes-per-cluster 20`,
	}
	af.add(cmd)
	var output string
	get := &cobra.Command{
		Use:     "get TENANT",
		Short:   "Show a tenant's quota and what it uses",
		Long:    "Show a tenant's quota (max_clusters, max_nodes_per_cluster) and what it uses:\nits cluster count and the size of its largest cluster. A tenant token reads\nits own tenant only.",
		Example: `  vela quotas get acme -o json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			q, err := c.Quota(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printQuota(cmd, output, q)
		},
	}
	addOutput(get, &output)
	var q fsm.Quota
	set := &cobra.Command{
		Use:     "set TENANT",
		Short:   "Set a tenant's quota (admin; 0 means the default)",
		Long:    "Set a tenant's quota. Flags not given keep their current value; 0 means the\ndefault (3 clusters, 10 nodes per cluster). Existing clusters above a lowered\nquota keep running; they cannot grow. Needs an admin token.",
		Example: `  vela quotas set acme --max-clusters 5`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			cur, err := c.Quota(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("max-clusters") {
				q.MaxClusters = cur.Quota.MaxClusters
			}
			if !cmd.Flags().Changed("max-nodes-per-cluster") {
				q.MaxNodesPerCluster = cur.Quota.MaxNodesPerCluster
			}
			out, err := c.SetQuota(cmd.Context(), args[0], q)
			if err != nil {
				return err
			}
			return printQuota(cmd, "table", out)
		},
	}
	set.Flags().IntVar(&q.MaxClusters, "max-clusters", 0, "clusters the tenant may own (0: default 3)")
	set.Flags().IntVar(&q.MaxNodesPerCluster, "max-nodes-per-cluster", 0, "nodes per cluster (0: default 10)")
	cmd.AddCommand(get, set)
	return cmd
}

func printQuota(cmd *cobra.Command, output string, q api.QuotaStatus) error {
	return printList(cmd.OutOrStdout(), output, q, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "TENANT\tCLUSTERS\tMAX CLUSTERS\tLARGEST\tMAX NODES/CLUSTER")
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\n", q.Tenant, q.Clusters, q.Quota.MaxClusters, q.Largest, q.Quota.MaxNodesPerCluster)
	})
}
