package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/controller/credentials"
	"github.com/vela-appliance/vela/cluster/fsm"
)

func newEnvCmd() *cobra.Command {
	var tf tenantFlags
	var dir, shell string
	cmd := &cobra.Command{
		Use:   "env NAME",
		Short: "Print the shell lines that point docker at a cluster (eval them)",
		Long: `Print DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for the cluster, as
docker-machine env does. The certificates are read from ~/.vela/clusters/NAME
(or --dir), and fetched first when missing (see ` + "`vela credentials`" + `).
DOCKER_HOST names a manager the controller currently sees reachable.`,
		Example: `  eval "$(vela env web)"
  docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.Managers}}'
  vela env web --shell fish | source`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			var err error
			if dir == "" {
				if dir, err = clusterDir(name); err != nil {
					return err
				}
			}
			if dir, err = filepath.Abs(dir); err != nil {
				return err
			}
			c, tenant, err := tf.open(cmd.Context())
			if err != nil {
				return err
			}
			host := ""
			if !haveCerts(dir) {
				b, err := fetchCredentials(cmd.Context(), c, tenant, name, dir)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "credentials of cluster %s saved to %s\n", name, dir)
				host = b.Host
			} else if host, err = currentManager(cmd.Context(), c, tenant, name); err != nil {
				// The API may be out of reach: fall back to the saved host.
				if host = savedHost(dir); host == "" {
					return err
				}
			}
			out, err := credentials.Env(shell, name, host, dir)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), out)
			return nil
		},
	}
	tf.add(cmd)
	cmd.Flags().StringVar(&dir, "dir", "", "credentials directory (default ~/.vela/clusters/NAME)")
	cmd.Flags().StringVar(&shell, "shell", "bash", "bash, zsh, fish, powershell or cmd")
	return cmd
}

func haveCerts(dir string) bool {
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}

// currentManager asks the API for a running, reachable manager's IP.
func currentManager(ctx context.Context, c *client.Client, tenant, name string) (string, error) {
	cl, err := c.GetCluster(ctx, tenant, name)
	if err != nil {
		return "", err
	}
	nodes, err := c.ClusterNodes(ctx, tenant, name)
	if err != nil {
		return "", err
	}
	var fallback string
	for _, n := range nodes {
		if n.Role != "manager" || n.State != fsm.NodeRunning || n.Desired == fsm.NodeDesiredDeleted {
			continue
		}
		ip, _, err := net.ParseCIDR(n.Address)
		if err != nil {
			continue
		}
		if slices.Contains(cl.Managers, n.Name) {
			return ip.String(), nil
		}
		if fallback == "" {
			fallback = ip.String()
		}
	}
	if fallback == "" {
		return "", fmt.Errorf("cluster %s has no running manager (state %s %s); see `vela cluster get %s`", name, cl.State, cl.Reason, name)
	}
	return fallback, nil
}

// savedHost reads DOCKER_HOST's IP from a saved docker.env.
func savedHost(dir string) string {
	f, err := os.Open(filepath.Join(dir, "docker.env"))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "export DOCKER_HOST=")
		if !ok {
			continue
		}
		v = strings.TrimPrefix(strings.Trim(v, `"`), "tcp://")
		if h, _, err := net.SplitHostPort(v); err == nil {
			return h
		}
	}
	return ""
}
