package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/fsm"
)

// tenantFlags are the API flags plus the tenant whose clusters are meant.
type tenantFlags struct {
	apiFlags
	tenant string
}

func (f *tenantFlags) add(cmd *cobra.Command) {
	f.apiFlags.add(cmd)
	cmd.PersistentFlags().StringVar(&f.tenant, "tenant", "", "the tenant (default: the tenant of the token; an admin must pass it)")
}

// open returns a client and the tenant: --tenant, else the token's own.
func (f *tenantFlags) open(ctx context.Context) (*client.Client, string, error) {
	c, err := f.client()
	if err != nil {
		return nil, "", err
	}
	if f.tenant != "" {
		return c, f.tenant, nil
	}
	who, err := c.Whoami(ctx)
	if err != nil {
		return nil, "", err
	}
	if who.Tenant == "" {
		return nil, "", fmt.Errorf("this token (%s) belongs to no tenant: pass --tenant NAME", orDash(who.Kind))
	}
	return c, who.Tenant, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newClusterCmd() *cobra.Command {
	var tf tenantFlags
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Create, grow, resize, rebuild and remove Docker Swarm clusters",
		Long: `A cluster is a Docker Swarm of nodes (LXC containers of 4 GiB, 2 vCPUs, 20 GB,
each running dockerd), spread across hypervisors. States: new, building,
active, growing, resizing, rebuilding, deleting, error; error always comes with
a reason and a next step. Health (healthy, degraded, unknown) comes from the
Swarm's own view of its nodes. Once active, point docker at it with
` + "`eval \"$(vela env NAME)\"`" + `.`,
		Example: `  vela login https://10.0.0.11:8443 --token-file acme.token --ca-file ca.pem
  vela cluster create web --nodes 3 --wait
  vela cluster ls
  vela cluster grow web --nodes 1 --wait
  vela cluster rm web --wait`,
	}
	tf.add(cmd)
	cmd.AddCommand(newClusterCreateCmd(&tf), newClusterLsCmd(&tf), newClusterGetCmd(&tf), newClusterGrowCmd(&tf),
		newClusterResizeCmd(&tf), newClusterRebuildCmd(&tf), newClusterRmCmd(&tf), newClusterAutoscaleCmd(&tf))
	return cmd
}

type waitFlags struct {
	wait    bool
	timeout time.Duration
}

func (w *waitFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&w.wait, "wait", false, "wait until the cluster is active (or gone), showing progress")
	cmd.Flags().DurationVar(&w.timeout, "timeout", 10*time.Minute, "how long --wait waits")
}

// waitCluster polls the cluster until it is active at generation gen (or,
// with gone, until it no longer exists), printing each change of state or
// reason on out.
func waitCluster(ctx context.Context, c *client.Client, out io.Writer, tenant, name string, gen uint64, gone bool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start, last := time.Now(), ""
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		cl, err := c.GetCluster(ctx, tenant, name)
		switch {
		case gone && client.StatusOf(err) == 404:
			fmt.Fprintf(out, "%6.1fs  %s: deleted\n", time.Since(start).Seconds(), name)
			return nil
		case err != nil && ctx.Err() == nil && client.StatusOf(err) != 0:
			return err
		case err == nil:
			line := cl.State
			if cl.Reason != "" {
				line += ": " + cl.Reason
			}
			if line != last {
				fmt.Fprintf(out, "%6.1fs  %s: %s\n", time.Since(start).Seconds(), name, line)
				last = line
			}
			if !gone && cl.Observed >= gen {
				switch cl.State {
				case fsm.ClusterActive:
					fmt.Fprintf(out, "%6.1fs  %s: active, %s (%s)\n", time.Since(start).Seconds(), name, cl.Health, cl.HealthDetail)
					return nil
				case fsm.ClusterError:
					return fmt.Errorf("cluster %s: %s; next step: %s", name, cl.Reason, cl.NextStep)
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster %s: still %q after %s; follow it with `vela cluster get %s`", name, last, timeout, name)
		case <-tick.C:
		}
	}
}

// done prints the cluster after a change and waits if asked.
func done(cmd *cobra.Command, c *client.Client, tenant string, cl fsm.Cluster, w waitFlags, verb string) error {
	fmt.Fprintf(cmd.OutOrStdout(), "cluster %s %s: %s, %d node(s)\n", cl.Name, verb, cl.State, cl.Nodes)
	if !w.wait {
		fmt.Fprintf(cmd.OutOrStdout(), "follow it with: vela cluster get %s\n", cl.Name)
		return nil
	}
	return waitCluster(cmd.Context(), c, cmd.ErrOrStderr(), tenant, cl.Name, cl.Generation, cl.Deleting, w.timeout)
}

func newClusterCreateCmd(tf *tenantFlags) *cobra.Command {
	var nodes int
	var autoscale bool
	var w waitFlags
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a cluster of N nodes (1 manager for 1-2 nodes, 3 from 3)",
		Long:  "Create a cluster of --nodes nodes (default 1) for the tenant. The controller\nplaces the nodes across hypervisors, waits for them to start, and forms the\nSwarm: 1 manager for 1-2 nodes, 3 from 3 nodes. Refused at once beyond the\ntenant's quota. With --wait, progress is shown until the cluster is active,\nor the reason and next step if it ends in error.",
		Example: `  vela cluster create web --nodes 3 --wait
  eval "$(vela env web)" && docker info`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, tenant, err := tf.open(cmd.Context())
			if err != nil {
				return err
			}
			cl, err := c.CreateCluster(cmd.Context(), tenant, args[0], nodes, autoscale)
			if err != nil {
				return err
			}
			return done(cmd, c, tenant, cl, w, "created")
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 1, "number of nodes")
	cmd.Flags().BoolVar(&autoscale, "autoscale", false, "let Vela add nodes when the Swarm's reservations reach 80% (up to the quota)")
	w.add(cmd)
	return cmd
}

func newClusterLsCmd(tf *tenantFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "ls",
		Short:   "List clusters: state, nodes, health",
		Long:    "List clusters with their node count, state, health and reason. A tenant\ntoken lists its own; an admin lists all (or one tenant's with --tenant).",
		Example: `  vela cluster ls -o yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := tf.client()
			if err != nil {
				return err
			}
			cs, err := c.Clusters(cmd.Context(), tf.tenant)
			if err != nil {
				return err
			}
			return printList(cmd.OutOrStdout(), output, cs, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "TENANT\tNAME\tNODES\tSTATE\tHEALTH\tREASON")
				for _, cl := range cs {
					fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\n", cl.Tenant, cl.Name, cl.Nodes, cl.State, orDash(cl.Health), cl.Reason)
				}
			})
		},
	}
	addOutput(cmd, &output)
	return cmd
}

func newClusterGetCmd(tf *tenantFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "get NAME",
		Short:   "Show a cluster: state, reason, next step, health, managers and nodes",
		Long:    "Show one cluster: state, reason and next step (when in error), health from\nthe Swarm's view, its managers and Swarm ID, and each node with its\nhypervisor, address, role and state.",
		Example: `  vela cluster get web`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, tenant, err := tf.open(cmd.Context())
			if err != nil {
				return err
			}
			cl, err := c.GetCluster(cmd.Context(), tenant, args[0])
			if err != nil {
				return err
			}
			nodes, err := c.ClusterNodes(cmd.Context(), tenant, args[0])
			if err != nil {
				return err
			}
			cl.CACert = ""
			// The autoscaler's last verdicts (none from a server without the route).
			verdicts, _ := c.ClusterEvents(cmd.Context(), tenant, args[0], client.EventQuery{Action: fsm.ActionAutoscale, Last: 3})
			if output != "table" {
				return printList(cmd.OutOrStdout(), output, map[string]any{"cluster": cl, "nodes": nodes, "autoscale_events": verdicts}, nil)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "cluster:    %s/%s\nstate:      %s\n", cl.Tenant, cl.Name, cl.State)
			if cl.Reason != "" {
				fmt.Fprintf(out, "reason:     %s\n", cl.Reason)
			}
			if cl.NextStep != "" {
				fmt.Fprintf(out, "next step:  %s\n", cl.NextStep)
			}
			fmt.Fprintf(out, "health:     %s %s\nnodes:      %d wanted\nmanagers:   %s\nswarm:      %s\n",
				orDash(cl.Health), cl.HealthDetail, cl.Nodes, orDash(strings.Join(cl.Managers, ", ")), orDash(cl.SwarmID))
			if a := cl.Autoscale; a != nil && a.Enabled {
				fmt.Fprintf(out, "autoscale:  on at %.0f%%, max %d (0: quota)", a.Threshold*100, a.Max)
				if a.LastDecision != "" {
					fmt.Fprintf(out, "; last, at %s: %s", a.LastScaleUp.Format(time.RFC3339), a.LastDecision)
				}
				fmt.Fprintln(out)
			}
			for i, e := range verdicts { // the autoscaler's last events, oldest first
				fmt.Fprintf(out, "%-12s%s  %s\n", map[bool]string{true: "verdicts:"}[i == 0], e.Time.Format(time.RFC3339), e.Message)
			}
			fmt.Fprintln(out)
			return printList(out, "table", nodes, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NODE\tHYPERVISOR\tADDRESS\tROLE\tSTATE\tREASON")
				for _, n := range nodes {
					state := n.State
					if n.Desired == fsm.NodeDesiredDeleted {
						state += " (deleting)"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, n.Hypervisor, n.Address, n.Role, orDash(state), n.Reason)
				}
			})
		},
	}
	addOutput(cmd, &output)
	return cmd
}

func newClusterGrowCmd(tf *tenantFlags) *cobra.Command {
	var nodes int
	var w waitFlags
	cmd := &cobra.Command{
		Use:     "grow NAME --nodes N",
		Short:   "Add N nodes; they join the Swarm",
		Long:    "Add N nodes to the cluster. They join the Swarm as managers until it has 3,\nthen as workers. Refused beyond max_nodes_per_cluster.",
		Example: `  vela cluster grow web --nodes 1 --wait`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, tenant, err := tf.open(cmd.Context())
			if err != nil {
				return err
			}
			cl, err := c.GrowCluster(cmd.Context(), tenant, args[0], nodes)
			if err != nil {
				return err
			}
			return done(cmd, c, tenant, cl, w, "growing")
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 1, "number of nodes to add")
	w.add(cmd)
	return cmd
}

func newClusterResizeCmd(tf *tenantFlags) *cobra.Command {
	var nodes int
	var remove []string
	var w waitFlags
	cmd := &cobra.Command{
		Use:   "resize NAME --nodes N [--remove NODE...]",
		Short: "Set the node count; shrinking removes only the nodes named with --remove",
		Long: `Set the cluster's node count. Vela never picks nodes to remove: to shrink,
name them with --remove. Each is drained in Swarm (its tasks move elsewhere),
demoted if a manager, leaves the Swarm, and is deleted. Nodes are listed by
` + "`vela cluster get NAME`" + `.`,
		Example: `  vela cluster resize web --nodes 3 --remove acme-web-4 --wait`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("nodes") {
				return fmt.Errorf("pass --nodes N, the node count after the resize")
			}
			c, tenant, err := tf.open(cmd.Context())
			if err != nil {
				return err
			}
			cl, err := c.ResizeCluster(cmd.Context(), tenant, args[0], nodes, remove)
			if err != nil {
				return err
			}
			return done(cmd, c, tenant, cl, w, "resizing")
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 0, "node count after the resize")
	cmd.Flags().StringSliceVar(&remove, "remove", nil, "nodes to remove (repeat or comma-separate)")
	w.add(cmd)
	return cmd
}

func newClusterRebuildCmd(tf *tenantFlags) *cobra.Command {
	var w waitFlags
	cmd := &cobra.Command{
		Use:   "rebuild NAME",
		Short: "Recreate the Swarm control layer from the nodes, keeping volumes",
		Long: `Rebuild recovers a Swarm that lost its managers' quorum: a surviving manager
re-creates the control layer (docker swarm init --force-new-cluster), keeping
services, networks and volumes; the other nodes leave and join again.`,
		Example: `  vela cluster rebuild web --wait`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, tenant, err := tf.open(cmd.Context())
			if err != nil {
				return err
			}
			cl, err := c.RebuildCluster(cmd.Context(), tenant, args[0])
			if err != nil {
				return err
			}
			return done(cmd, c, tenant, cl, w, "rebuilding")
		},
	}
	w.add(cmd)
	return cmd
}

func newClusterRmCmd(tf *tenantFlags) *cobra.Command {
	var w waitFlags
	cmd := &cobra.Command{
		Use:     "rm NAME",
		Short:   "Remove a cluster and all its nodes (and their volumes)",
		Long:    "Remove the cluster: every node is deleted with its disk and volumes, then\nthe cluster record. With --wait, returns when it is gone.",
		Example: `  vela cluster rm web --wait`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, tenant, err := tf.open(cmd.Context())
			if err != nil {
				return err
			}
			cl, err := c.DeleteCluster(cmd.Context(), tenant, args[0])
			if err != nil {
				return err
			}
			return done(cmd, c, tenant, cl, w, "deleting")
		},
	}
	w.add(cmd)
	return cmd
}
