package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/cluster/api"
)

func newClusterAutoscaleCmd(tf *tenantFlags) *cobra.Command {
	var req api.AutoscaleRequest
	var cooldown time.Duration
	cmd := &cobra.Command{
		Use:   "autoscale NAME on|off",
		Short: "Turn the autoscaler on or off (it adds nodes, never removes them)",
		Long: `With the autoscaler on, Vela measures every 10 s what the cluster's workloads
reserve (Swarm tasks' --reserve-memory/--reserve-cpu, standalone containers'
--memory/--cpus) against the nodes' 4 GiB and 2 vCPUs each, and adds nodes when
memory or CPU reaches --threshold percent, or when tasks are pending for lack
of resources; at most one scale-up per --cooldown, up to --max nodes (default:
the tenant's quota). It never removes a node. ` + "`vela cluster get`" + ` shows its last decision.`,
		Example: `  vela cluster autoscale web on --threshold 80 --max 6
  vela cluster autoscale web off`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[1] {
			case "on":
				req.Enabled = true
			case "off":
			default:
				return fmt.Errorf("%q: want on or off", args[1])
			}
			if cooldown > 0 {
				req.Cooldown = cooldown.String()
			}
			c, tenant, err := tf.open(cmd.Context())
			if err != nil {
				return err
			}
			cl, err := c.Autoscale(cmd.Context(), tenant, args[0], req)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cluster %s: autoscale %s\n", cl.Name, args[1])
			return nil
		},
	}
	cmd.Flags().IntVar(&req.Threshold, "threshold", 80, "percent of memory or CPU reserved that triggers growth")
	cmd.Flags().IntVar(&req.Max, "max", 0, "most nodes (0: the tenant's max_nodes_per_cluster)")
	cmd.Flags().DurationVar(&cooldown, "cooldown", 60*time.Second, "least time between two scale-ups")
	return cmd
}
