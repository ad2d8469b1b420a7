package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "vela",
		Short: "Vela: an all-in-one installer and Containers-as-a-Service for private clouds",
		Long: `Vela PXE-boots bare-metal servers with Ignition configs, forms a Raft-replicated
control plane, and serves tenants Docker Swarm clusters of LXC nodes.

Start with an install config:
  vela config example > rack.yaml     # a commented example
  vela config validate rack.yaml      # every problem, with line numbers
  vela install --config rack.yaml --dry-run
  vela install --config rack.yaml`,
		Example: `  vela config example --lab | vela config validate -
  vela install --config examples/lab.yaml --dry-run
  source <(vela completion bash)`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("vela {{.Version}}\n")
	root.AddCommand(
		newConfigCmd(),
		newInstallCmd(),
		newLabCmd(),
		newImagesCmd(),
		newIgnitionCmd(),
		newPXECmd(), newMachinesCmd(),
		newServerCmd(), newMembersCmd(), newEventsCmd(),
		newAgentCmd(),
		newHypervisorsCmd(),
		newTenantsCmd(), newTokensCmd(), newQuotasCmd(),
		newClusterCmd(), newEnvCmd(), newCredentialsCmd(),
		newLoginCmd(), newLogoutCmd(), newProfilesCmd(),
	)
	return root
}
