package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/controller/credentials"
	"github.com/vela-appliance/vela/cluster/pki"
)

// clusterDir is where a cluster's credentials live by default.
func clusterDir(name string) (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the home directory for ~/.vela: %w; pass --dir", err)
	}
	return filepath.Join(home, ".vela", "clusters", name), nil
}

// fetchCredentials makes a key here, has the API sign it (only the CSR
// travels), and writes the bundle into dir (0700, files 0600).
func fetchCredentials(ctx context.Context, c *client.Client, tenant, name, dir string) (credentials.Bundle, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return credentials.Bundle{}, err
	}
	keyPEM, csrPEM, err := pki.NewKeyAndCSR(tenant + "/" + name)
	if err != nil {
		return credentials.Bundle{}, err
	}
	cr, err := c.SignCredentials(ctx, tenant, name, csrPEM)
	if err != nil {
		return credentials.Bundle{}, err
	}
	b := credentials.Bundle{Cluster: cr.Cluster, Host: cr.Host, CACert: []byte(cr.CACert), Cert: []byte(cr.Cert), Key: keyPEM}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return b, fmt.Errorf("create %s: %w", abs, err)
	}
	if err := os.Chmod(abs, 0o700); err != nil {
		return b, err
	}
	files := b.Files(abs)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := pki.WriteFile(filepath.Join(abs, n), files[n], 0o600); err != nil {
			return b, err
		}
	}
	return b, nil
}

func newCredentialsCmd() *cobra.Command {
	var tf tenantFlags
	var dir, zipFile string
	cmd := &cobra.Command{
		Use:   "credentials NAME",
		Short: "Save a cluster's credentials bundle (ca.pem, cert.pem, key.pem, docker.env, ...)",
		Long: `Write what the docker CLI needs to reach the cluster over TLS into a directory
(default ~/.vela/clusters/NAME, mode 0700, files 0600): ca.pem (the cluster's
CA), cert.pem and key.pem (a client certificate; the key is made here and
never sent), docker.env, docker.fish, docker.ps1, docker.cmd and README.md.
With --zip, download the API's zip bundle instead, whose key the server made
(simpler for scripts, less safe: the key crossed the network).`,
		Example: `  vela credentials web
  source ~/.vela/clusters/web/docker.env && docker node ls
  vela credentials web --dir ./web-creds
  vela credentials web --zip web.zip`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, tenant, err := tf.open(cmd.Context())
			if err != nil {
				return err
			}
			if zipFile != "" {
				z, err := c.CredentialsZip(cmd.Context(), tenant, args[0])
				if err != nil {
					return err
				}
				if err := pki.WriteFile(zipFile, z, 0o600); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "bundle of cluster %s saved to %s\n", args[0], zipFile)
				return nil
			}
			if dir == "" {
				if dir, err = clusterDir(args[0]); err != nil {
					return err
				}
			}
			b, err := fetchCredentials(cmd.Context(), c, tenant, args[0], dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "credentials of cluster %s saved to %s (DOCKER_HOST tcp://%s:%s)\nuse them: eval \"$(vela env %s)\"\n",
				args[0], dir, b.Host, credentials.DockerPort, args[0])
			return nil
		},
	}
	tf.add(cmd)
	cmd.Flags().StringVar(&dir, "dir", "", "directory to write (default ~/.vela/clusters/NAME)")
	cmd.Flags().StringVar(&dir, "path", "", "same as --dir")
	cmd.Flags().StringVar(&zipFile, "zip", "", "save the API's zip bundle (server-made key) to this file instead")
	return cmd
}
