package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/cluster/client"
)

func newLoginCmd() *cobra.Command {
	var token, tokenFile, caFile, profile string
	var embedCA bool
	cmd := &cobra.Command{
		Use:   "login URL --token T --ca-file F",
		Short: "Check a token against a control plane and store it as a profile",
		Long: `Log in to a control plane: the token is checked against the API (who does it
belong to), then stored with the server and the cluster CA as a profile in
` + "$XDG_CONFIG_HOME/vela/config.yaml (default ~/.config/vela/config.yaml; file 0600," + `
directory 0700), which becomes the current profile. The CA PEM is embedded
(--embed-ca=false stores its path instead).

The profile is named by --profile, else after the token's tenant ("admin"
for an admin token). Every API command then uses the current profile unless
told otherwise. For each of server, token and CA the first that is set wins:
  1. the flags --server, --token-file, --ca-file
  2. the environment VELA_URL (or VELA_SERVER), VELA_TOKEN, VELA_CA
  3. one stored place: the profile named by --profile or VELA_PROFILE; else
     the context file named by VELA_CONFIG (the installer writes those);
     else the current profile; else ~/.vela/config.json (older installers).`,
		Example: `  vela login https://10.0.0.11:8443 --token "$(cat acme.token)" --ca-file ca.pem
  vela login https://10.0.0.11:8443 --token-file admin-token --ca-file ca.pem --profile lab-admin
  vela profiles ls
  VELA_PROFILE=lab-admin vela tenants ls`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, err := loginToken(token, tokenFile)
			if err != nil {
				return err
			}
			if caFile == "" {
				caFile = os.Getenv(client.EnvCA)
			}
			if caFile == "" {
				return fmt.Errorf("no CA certificate: pass --ca-file (the cluster CA, ca.pem, from the installer's secrets or your admin)")
			}
			caPEM, err := os.ReadFile(caFile)
			if err != nil {
				return fmt.Errorf("read the CA certificate: %w", err)
			}
			c, err := client.New(client.Config{Server: args[0], Token: tok, CAPEM: caPEM})
			if err != nil {
				return err
			}
			defer c.Close()
			who, err := c.Whoami(cmd.Context())
			if err != nil {
				return fmt.Errorf("login to %s: %w", args[0], err)
			}
			if who.Kind == "" {
				return fmt.Errorf("login to %s: the API does not know this token; ask your admin for one (vela tokens create --tenant NAME)", args[0])
			}
			pr := client.Profile{Server: c.BaseURL(), Token: tok, Tenant: who.Tenant, Kind: who.Kind}
			if embedCA {
				pr.CAPEM = string(caPEM)
			} else if pr.CAFile, err = filepath.Abs(caFile); err != nil {
				return err
			}
			name := profile
			if name == "" {
				name = who.Tenant
			}
			if name == "" {
				name = who.Kind
			}
			path := client.ProfilesPath()
			ps, err := client.LoadProfiles(path)
			if err != nil {
				return err
			}
			ps.Put(name, pr)
			if err := ps.Save(path); err != nil {
				return err
			}
			as := who.Kind
			if who.Tenant != "" {
				as += " of tenant " + who.Tenant
			}
			fmt.Fprintf(cmd.OutOrStdout(), "logged in to %s as %s (token %s); profile %q is current (%s)\n", pr.Server, as, orDash(who.Name), name, path)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&token, "token", "", "the API token itself (default $"+client.EnvToken+")")
	f.StringVar(&tokenFile, "token-file", "", "a file holding the API token")
	f.StringVar(&caFile, "ca-file", "", "the cluster CA certificate (default $"+client.EnvCA+")")
	f.StringVar(&profile, "profile", "", "name of the profile to store (default: the token's tenant, or admin)")
	f.BoolVar(&embedCA, "embed-ca", true, "store the CA PEM in the profile (false: store the --ca-file path)")
	return cmd
}

func loginToken(token, tokenFile string) (string, error) {
	switch {
	case token != "" && tokenFile != "":
		return "", fmt.Errorf("pass --token or --token-file, not both")
	case tokenFile != "":
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return "", fmt.Errorf("read the token file: %w", err)
		}
		token = string(b)
	case token == "":
		token = os.Getenv(client.EnvToken)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", fmt.Errorf("no token: pass --token T or --token-file F (an admin makes one with `vela tokens create --tenant NAME`)")
	}
	return token, nil
}

func newLogoutCmd() *cobra.Command {
	var profile string
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Remove a stored profile (default: the current one) and its token",
		Long: `Remove a profile from the profile file, with the token it holds. The token
itself stays valid on the server: an admin revokes it with ` + "`vela tokens rm ID`" + `.
When the current profile is removed, no profile is current until
` + "`vela profiles use NAME`" + ` or the next ` + "`vela login`" + `.`,
		Example: `  vela logout
  vela logout --profile lab-admin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := client.ProfilesPath()
			ps, err := client.LoadProfiles(path)
			if err != nil {
				return err
			}
			name := profile
			if name == "" {
				name = os.Getenv(client.EnvProfile)
			}
			if name == "" {
				name = ps.Current
			}
			if name == "" {
				return fmt.Errorf("no current profile: name one with --profile (vela profiles ls)")
			}
			if err := ps.Remove(name); err != nil {
				return err
			}
			if err := ps.Save(path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "profile %q removed from %s\n", name, path)
			return nil
		},
	}
	cmd.Flags().StringVar(&profile, "profile", "", "the profile to remove (default $"+client.EnvProfile+", else the current one)")
	return cmd
}
