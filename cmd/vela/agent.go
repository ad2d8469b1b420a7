package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/cluster/agent"
	"github.com/vela-appliance/vela/cluster/agent/authz"
	"github.com/vela-appliance/vela/cluster/agent/hypervisor"
	"github.com/vela-appliance/vela/cluster/agent/node"
)

func newAgentCmd() *cobra.Command {
	var (
		nodesFile, statusFile, dataDir, image, socket, hostname, imageVersion string
		interval                                                              time.Duration
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the hypervisor agent: reconcile this machine's LXC nodes through libvirt",
		Long: `Run the hypervisor agent. It registers this machine (CPUs, memory, disk, libvirt
and kernel versions, node image version), then every --interval and on SIGHUP
reconciles the desired nodes with libvirt's LXC domains: it creates, starts,
adopts (after its own restart), restarts, stops and deletes nodes and reports
each node's state (creating, running, failed with a reason, deleted).

Each node is an LXC container with a hard memory limit, a CPU quota, a sparse
ext4 disk of its own size, a static IPv4 address on its tenant's bridge, and
a dockerd reachable only over TLS on port 2376 with the Vela tenant policy.

Until the control plane client is wired in, the desired nodes come from a
JSON file (--nodes) and the registration, usage and node states are written to
--status. See docs/hypervisor.md for the file format.`,
		Example: `  vela agent --nodes /etc/vela/nodes.json --status /run/vela/agent-status.json \
    --image /var/lib/vela/images/node/rootfs
  kill -HUP $(pidof vela)   # reconcile now`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			self, err := os.Executable()
			if err != nil {
				return err
			}
			nodes, err := node.New(node.Config{StateDir: filepath.Join(dataDir, "nodes"), Image: image,
				AuthzBinary: self, Logger: log})
			if err != nil {
				return err
			}
			hv := hypervisor.New(hypervisor.Config{Socket: socket, Logger: log})
			defer hv.Close()
			a, err := agent.New(agent.Config{Hostname: hostname, ImageVersion: imageVersion, Interval: interval,
				ControlPlane: &agent.FileControlPlane{Path: nodesFile, StatusPath: statusFile},
				Hypervisor:   hv, Nodes: nodes, StateDir: dataDir, Logger: log})
			if err != nil {
				return err
			}
			wake := make(chan struct{}, 1)
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for range hup {
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			}()
			return a.Run(cmd.Context(), wake)
		},
	}
	f := cmd.Flags()
	f.StringVar(&nodesFile, "nodes", "/etc/vela/nodes.json", "desired nodes (JSON; see docs/hypervisor.md)")
	f.StringVar(&statusFile, "status", "/run/vela/agent-status.json", "where to write registration, usage and node states")
	f.StringVar(&dataDir, "data-dir", "/var/lib/vela/agent", "agent state: node disks, mounts and tools")
	f.StringVar(&image, "image", "/var/lib/vela/images/node/rootfs", "the node image (an unpacked root filesystem with dockerd)")
	f.StringVar(&imageVersion, "image-version", "", "node image version to report")
	f.StringVar(&socket, "libvirt-socket", hypervisor.DefaultSocket, "libvirtd's read-write socket")
	f.StringVar(&hostname, "hostname", "", "name to register under (default: the host name)")
	f.DurationVar(&interval, "interval", 10*time.Second, "time between reconciles and heartbeats")
	cmd.AddCommand(newAgentAuthzCmd())
	return cmd
}

func newAgentAuthzCmd() *cobra.Command {
	var socket string
	cmd := &cobra.Command{
		Use:   "authz",
		Short: "Serve the tenant policy Docker authorization plugin (runs inside each node)",
		Long: `Serve the Docker authorization plugin "vela" that every node's dockerd uses
(--authorization-plugin=vela). It refuses --privileged, --cap-add beyond
Docker's defaults, host PID/IPC/network/UTS/user/cgroup namespaces, devices,
unconfined security options, bind mounts outside /var/lib/docker and plugin
installs. A node's init starts it; operators do not run it by hand.`,
		Example: `  vela agent authz --socket /run/docker/plugins/vela.sock`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			if err := authz.Serve(cmd.Context(), socket, log); err != nil {
				return fmt.Errorf("authz plugin on %s: %w", socket, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&socket, "socket", authz.PluginDir+"/"+authz.PluginName+".sock", "Unix socket to serve on")
	return cmd
}
