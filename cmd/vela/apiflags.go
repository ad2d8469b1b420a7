package main

import (
	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/cluster/client"
)

// apiFlags are the client flags shared by the API commands: where the API
// is, which token and CA to use, or which stored profile holds them.
// Precedence (client.ResolveFlags): flags, then VELA_URL / VELA_TOKEN /
// VELA_CA, then the profile (--profile, VELA_PROFILE, or the current one),
// then the installer's context file.
type apiFlags struct{ server, tokenFile, caFile, profile string }

func (a *apiFlags) add(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&a.server, "server", "", "API of any member, https://IP:8443 (default $"+client.EnvURL+", else the profile)")
	f.StringVar(&a.tokenFile, "token-file", "", "file holding an API token (default: the token in $"+client.EnvToken+", else the profile's)")
	f.StringVar(&a.caFile, "ca-file", "", "cluster CA certificate (default $"+client.EnvCA+", else the profile's)")
	f.StringVar(&a.profile, "profile", "", "the stored profile to use (default $"+client.EnvProfile+", else the current one: vela profiles ls)")
}

func (a *apiFlags) flags() client.Flags {
	return client.Flags{Server: a.server, TokenFile: a.tokenFile, CAFile: a.caFile, Profile: a.profile}
}

func (a *apiFlags) client() (*client.Client, error) {
	cfg, err := client.ResolveFlags(a.flags())
	if err != nil {
		return nil, err
	}
	return client.New(cfg)
}

// hasServer tells whether a server is named anywhere (flag, environment,
// profile or context file).
func (a *apiFlags) hasServer() bool { return client.HasServer(a.flags()) }
