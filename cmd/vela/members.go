package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/cluster/store"
)

func newMembersCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "members",
		Short: "List, add (tokens), remove and recover control plane members",
		Long: `Manage the members of the control plane through the API of any member.
The endpoint, admin token and CA come from --server/--token-file/--ca-file,
else VELA_URL / VELA_TOKEN (the token itself) / VELA_CA, else the profile
(vela login; --profile or VELA_PROFILE picks one), else the installer's context.
"recover" works offline on a stopped member's data dir instead.`,
		Example: `  export VELA_SERVER=https://10.0.0.11:8443 VELA_CA=/etc/vela/ca.pem VELA_TOKEN=$(cat admin-token)
  vela members ls
  vela members token > join-token
  vela members remove m3`,
	}
	af.add(cmd)
	cmd.AddCommand(newMembersLsCmd(&af), newMembersTokenCmd(&af), newMembersRemoveCmd(&af), newMembersRecoverCmd())
	return cmd
}

func newMembersLsCmd(af *apiFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List members: ID, addresses, role, leader, state, last contact, applied index",
		Example: `  vela members ls --server https://10.0.0.11:8443 --token-file admin-token --ca-file /etc/vela/ca.pem
  vela members ls -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			ms, err := c.Members(cmd.Context())
			if err != nil {
				return err
			}
			return printList(cmd.OutOrStdout(), output, ms, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tRAFT\tAPI\tROLE\tLEADER\tSTATE\tLAST CONTACT\tAPPLIED")
				for _, m := range ms {
					leader := ""
					if m.Leader {
						leader = "*"
					}
					state := m.State
					if m.Error != "" {
						state = "? " + m.Error
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", m.ID, m.RaftAddr, m.APIAddr, m.Role, leader, state, m.LastContact, m.AppliedIndex)
				}
			})
		},
	}
	addOutput(cmd, &output)
	return cmd
}

func newMembersTokenCmd(af *apiFlags) *cobra.Command {
	var role, ttl string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Issue a single-use, expiring join token (printed on stdout)",
		Example: `  vela members token --ttl 30m > /etc/vela/join-token
  vela members token --role agent`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			t, err := c.JoinToken(cmd.Context(), role, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), t.Token)
			fmt.Fprintf(cmd.ErrOrStderr(), "join token %s for a %s, single use, expires %s\n", t.ID, role, t.Expires.Format("2006-01-02 15:04:05 MST"))
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", "member", "member (joins Raft) or agent (a hypervisor's certificate)")
	cmd.Flags().StringVar(&ttl, "ttl", "1h", "validity, 1s to 24h")
	return cmd
}

func newMembersRemoveCmd(af *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "remove ID",
		Short:   "Remove a member from Raft (stop its vela server afterwards)",
		Example: `  vela members remove m3`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			if err := c.RemoveMember(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "member %s removed\n", args[0])
			return nil
		},
	}
}

func newMembersRecoverCmd() *cobra.Command {
	var dataDir, members, logStore, id string
	cmd := &cobra.Command{
		Use:   "recover",
		Short: "Offline: rebuild Raft membership from the surviving members after quorum loss",
		Long: `Rewrite the Raft configuration in a STOPPED member's data dir so that the
cluster consists of exactly --members (the survivors), keeping every entry the
data dir holds. Run it on every survivor with the same --members, then start
them again. Read docs/runbooks/recover-quorum.md first: recovering members that
can still reach a quorum splits the cluster.`,
		Example: `  systemctl stop vela-server
  vela members recover --data-dir /var/lib/vela/server --members m1=10.0.0.11:8444,m2=10.0.0.12:8444
  systemctl start vela-server`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			peers, err := store.ParsePeers(members)
			if err != nil {
				return err
			}
			if id == "" {
				if id, err = memberIDOf(dataDir); err != nil {
					return err
				}
			}
			if err := store.Recover(logStore, dataDir, id, peers); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "member %s: raft configuration rewritten to %d member(s); start vela server on every listed member\n", id, len(peers))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "/var/lib/vela/server", "the stopped member's data dir")
	f.StringVar(&members, "members", "", "surviving members as ID=RAFT_IP:PORT,... (see `vela members ls` from before the loss)")
	f.StringVar(&id, "id", "", "this member's ID (default: recorded in the data dir)")
	f.StringVar(&logStore, "log-store", "wal", "the data dir's log store: wal or bolt")
	return cmd
}

// memberIDOf reads the member ID recorded in a data dir.
func memberIDOf(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "member-id"))
	if err != nil {
		return "", fmt.Errorf("read the member ID in %s: %w; pass --id", dataDir, err)
	}
	return strings.TrimSpace(string(b)), nil
}
