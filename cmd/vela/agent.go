package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/cluster/agent"
	"github.com/vela-appliance/vela/cluster/agent/authz"
	"github.com/vela-appliance/vela/cluster/agent/hypervisor"
	"github.com/vela-appliance/vela/cluster/agent/node"
	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/installer/config"
)

func newAgentCmd() *cobra.Command {
	var (
		nodesFile, statusFile, dataDir, image, socket, hostname, imageVersion string
		server, caFile, tokenFile, address                                    string
		interval                                                              time.Duration
		reserved                                                              string
		overcommit                                                            float64
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the hypervisor agent: reconcile this machine's LXC nodes through libvirt",
		Long: `Run the hypervisor agent. It registers this machine (address, CPUs, memory,
disk, libvirt and kernel versions, node image version), then every --interval
and on SIGHUP heartbeats its usage and reconciles the desired nodes with
libvirt's LXC domains: it creates, starts, adopts (after its own restart),
restarts, stops and deletes nodes and reports each node's state (creating,
running, failed with a reason, deleted).

Each node is an LXC container with a hard memory limit, a CPU quota, a sparse
ext4 disk of its own size, a static IPv4 address on its tenant's bridge, and
a dockerd reachable only over TLS on port 2376 with the Vela tenant policy.
The agent also routes its tenants' subnets on other hypervisors via those
hypervisors (ip route ... proto 211) and keeps tenants apart across them.

With --server it is a client of the control plane: on first start it joins
with an agent join token (--token-file; issue one with
"vela members token --role agent"), saving its certificate and key under
--data-dir/pki (0600); later starts use the saved certificate and need no
token. Its name is --hostname (default: the host name); its address, which
other hypervisors route to, is --address (default: this host's source
address towards the server).

Without --server it runs standalone: the desired nodes come from a JSON file
(--nodes) and the registration, usage and node states go to --status. See
docs/hypervisor.md.`,
		Example: `  vela agent --server 10.0.0.11:8443 --ca-file /etc/vela/ca.pem \
    --token-file /etc/vela/agent-token --data-dir /var/lib/vela/agent
  vela agent --nodes /etc/vela/nodes.json --status /run/vela/agent-status.json \
    --image /var/lib/vela/images/node/rootfs
  kill -HUP $(pidof vela)   # reconcile now`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			if server != "" && cmd.Flags().Changed("nodes") {
				return errors.New("--nodes (standalone: desired nodes from a file) and --server (the control plane) exclude each other; pass one")
			}
			name, err := agentName(hostname)
			if err != nil {
				return err
			}
			var cp agent.ControlPlane = &agent.FileControlPlane{Path: nodesFile, StatusPath: statusFile}
			if server != "" {
				if cp, err = apiControlPlane(cmd.Context(), server, caFile, tokenFile, dataDir, name, address, log); err != nil {
					return err
				}
			}
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
			reserve, err := config.ParseByteSize(reserved)
			if err != nil {
				return fmt.Errorf("--reserved-memory: %w", err)
			}
			a, err := agent.New(agent.Config{Hostname: name, ImageVersion: imageVersion, Interval: interval,
				ReservedMemory: uint64(reserve), MemoryOvercommit: overcommit,
				ControlPlane: cp, Hypervisor: hv, Nodes: nodes, StateDir: dataDir, Logger: log})
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
	f.StringVar(&server, "server", "", "API of any control plane member, IP:8443 (omit for standalone mode with --nodes)")
	f.StringVar(&caFile, "ca-file", "/etc/vela/ca.pem", "with --server: the cluster CA certificate")
	f.StringVar(&tokenFile, "token-file", "", "with --server, first start: file holding an agent join token")
	f.StringVar(&address, "address", "", "with --server: IP other hypervisors reach this one on (default: source address towards --server)")
	f.StringVar(&nodesFile, "nodes", "/etc/vela/nodes.json", "standalone: desired nodes (JSON; see docs/hypervisor.md)")
	f.StringVar(&statusFile, "status", "/run/vela/agent-status.json", "standalone: where to write registration, usage and node states")
	f.StringVar(&dataDir, "data-dir", "/var/lib/vela/agent", "agent state: certificate, node disks, mounts and tools")
	f.StringVar(&image, "image", "/var/lib/vela/images/node/rootfs", "the node image (an unpacked root filesystem with dockerd)")
	f.StringVar(&imageVersion, "image-version", "", "node image version to report")
	f.StringVar(&socket, "libvirt-socket", hypervisor.DefaultSocket, "libvirtd's read-write socket")
	f.StringVar(&hostname, "hostname", "", "name to register under, a DNS label (default: the host name)")
	f.DurationVar(&interval, "interval", 10*time.Second, "time between reconciles and heartbeats")
	f.StringVar(&reserved, "reserved-memory", "2GiB", "memory kept for this machine, never given to nodes")
	f.Float64Var(&overcommit, "memory-overcommit", 1, "multiply the memory left for nodes (1 to 4): node limits are ceilings, so above 1 they may together exceed the machine")
	cmd.AddCommand(newAgentAuthzCmd())
	return cmd
}

// agentName is --hostname, or the host name's first label, lowercased.
func agentName(flag string) (string, error) {
	name := flag
	if name == "" {
		h, err := os.Hostname()
		if err != nil {
			return "", fmt.Errorf("no --hostname and no host name: %w", err)
		}
		name, _, _ = strings.Cut(strings.ToLower(h), ".")
	}
	if !hypervisorNameRE.MatchString(name) {
		return "", fmt.Errorf("hypervisor name %q is not a DNS label (a-z, 0-9, '-'); pass --hostname", name)
	}
	return name, nil
}

var hypervisorNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// apiControlPlane joins (first start) or loads the agent's certificate and
// returns the control plane client.
func apiControlPlane(ctx context.Context, server, caFile, tokenFile, dataDir, name, address string, log *slog.Logger) (*agent.APIControlPlane, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read --ca-file: %w", err)
	}
	if address == "" {
		if address, err = agent.SourceAddress(server); err != nil {
			return nil, err
		}
	}
	cert, err := agent.Credentials(ctx, agent.JoinConfig{Server: server, CAPEM: caPEM, TokenFile: tokenFile, DataDir: dataDir, Name: name, Address: address})
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{Server: server, CAPEM: caPEM, Cert: &cert, Retry: 10 * time.Second, Timeout: 15 * time.Second})
	if err != nil {
		return nil, err
	}
	log.Info("control plane client", "server", server, "hypervisor", name, "address", address)
	return &agent.APIControlPlane{Client: c, Address: address, Logger: log}, nil
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
