package main

import "github.com/spf13/cobra"

func newInstallCmd() *cobra.Command {
	return &cobra.Command{Use: "install", Short: "Install the appliance from a config"}
}
