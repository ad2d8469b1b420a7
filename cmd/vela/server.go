package main

import (
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/cluster/member"
)

func newServerCmd() *cobra.Command {
	var (
		cfg       member.Config
		token     string
		tokenFile string
		debug     bool
		boot      member.BootConfig
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a control plane member (Raft + API)",
		Long: `Run one member of the control plane: a Raft voter (non-voter past 5) holding
all of Vela's state, serving the API over TLS on --api-addr and Raft over
mutual TLS on --raft-addr.

What it does depends on the data dir:
  - it holds state: restart from it (--bootstrap/--join are then ignored, but a
    --join to a member of ANOTHER cluster is refused);
  - --bootstrap: start a new cluster, generate its CA (or adopt --ca-file with
    --ca-key-file), write the CA certificate to --ca-file if missing and the
    first admin token to --admin-token-file;
  - --join IP:8443 with a token from ` + "`vela members token`" + `: get a member
    certificate and join as a voter.
With --boot-interface and --boot-images, the member also serves network boot
(DHCP in the stored install config's mode, TFTP, HTTP) on that interface while
it is the Raft leader, from the replicated machines table: day-2 machines
(` + "`vela machines admit`" + `) install from it. --boot-interface auto picks the
interface with an IPv4 address in the install config's boot network (what the
installer gives every member). See docs/pxe.md.
SIGINT/SIGTERM stops it gracefully: a leader hands leadership over first.`,
		Example: `  # first member
  vela server --data-dir /var/lib/vela/server --raft-addr 10.0.0.11:8444 --api-addr 10.0.0.11:8443 \
    --ca-file /etc/vela/ca.pem --bootstrap
  # the others, each with its own token
  vela server --data-dir /var/lib/vela/server --raft-addr 10.0.0.12:8444 --api-addr 10.0.0.12:8443 \
    --ca-file /etc/vela/ca.pem --join 10.0.0.11:8443 --token-file /etc/vela/join-token
  # any member, also serving day-2 network boot while it leads
  vela server --data-dir /var/lib/vela/server --raft-addr 10.0.0.12:8444 --api-addr 10.0.0.12:8443 \
    --boot-interface auto --boot-images /var/lib/vela/images`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tokenFile != "" {
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return err
				}
				token = strings.TrimSpace(string(b))
			}
			cfg.JoinToken = token
			if boot.Interface != "" || boot.ImagesDir != "" {
				cfg.Boot = &boot
			}
			level := slog.LevelInfo
			if debug {
				level = slog.LevelDebug
			}
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			m, err := member.New(cfg)
			if err != nil {
				return err
			}
			return m.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", "/var/lib/vela/server", "directory of this member's Raft log, snapshots, certificates and IDs")
	f.StringVar(&cfg.ID, "id", "", "member ID (default: the one recorded in the data dir, else the host name)")
	f.StringVar(&cfg.RaftAddr, "raft-addr", "", "IP:PORT for Raft between members (listened on and advertised), e.g. 10.0.0.11:8444")
	f.StringVar(&cfg.APIAddr, "api-addr", "", "IP:PORT of the HTTPS API, e.g. 10.0.0.11:8443")
	f.StringVar(&cfg.CAFile, "ca-file", "/etc/vela/ca.pem", "cluster CA certificate (written at bootstrap if missing)")
	f.StringVar(&cfg.CAKeyFile, "ca-key-file", "", "with --bootstrap: adopt this CA key with --ca-file (default: ca-key.pem beside an existing --ca-file; else a CA is generated)")
	f.BoolVar(&cfg.Bootstrap, "bootstrap", false, "start a new cluster with this member as its only voter")
	f.StringVar(&cfg.Join, "join", "", "API address IP:PORT of any member of the cluster to join")
	f.StringVar(&token, "token", "", "join token (prefer --token-file: command lines are visible to other users)")
	f.StringVar(&tokenFile, "token-file", "", "file holding the join token")
	f.StringVar(&cfg.JoinTokensFile, "join-tokens", "", "with --bootstrap: JSON file of join tokens made ahead of time (hashes, roles, expiry) to accept")
	f.StringVar(&cfg.APITokensFile, "api-tokens", "", "with --bootstrap: JSON file of API tokens made ahead of time (hashes, names, scopes) to accept")
	f.StringVar(&cfg.AdminTokenFile, "admin-token-file", "", "with --bootstrap: where to write the first admin API token (default DATA_DIR/admin-token)")
	f.StringVar(&cfg.LogStore, "log-store", "wal", "Raft log store: wal (raft-wal) or bolt (raft-boltdb); fixed for the life of a data dir")
	f.StringVar(&boot.Interface, "boot-interface", "", "serve day-2 network boot on this interface (boot network) while this member leads, or auto: the interface with an IPv4 address in the install config's boot network; off when empty")
	f.StringVar(&boot.ImagesDir, "boot-images", "", "with --boot-interface: image store to boot from (IMAGE/current/kernel, initramfs, rootfs)")
	f.StringVar(&boot.StateDir, "boot-state-dir", "", "with --boot-interface: DHCP leases and boot records (default DATA_DIR/pxe)")
	f.StringVar(&boot.TFTPRoot, "boot-tftp-root", "", "with --boot-interface: directory of the iPXE binaries (default: Debian's ipxe package)")
	f.DurationVar(&cfg.RaftTimeout, "raft-timeout", 0, "Raft heartbeat and election timeout and leader lease (default 600ms; give emulated or heavily loaded machines seconds)")
	f.BoolVar(&debug, "debug", false, "log at debug level")
	return cmd
}
