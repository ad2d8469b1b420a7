package main

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vela-appliance/vela/pxe/serve"
)

type pxeServeFlags struct {
	config, ignitionDir, stateDir, imagesDir, tftpRoot, velaBinary, logFormat string
	noRA                                                                      bool
}

func newPXECmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pxe",
		Short: "Network boot services: DHCP, TFTP and the HTTP boot server",
		Long: `Vela's own network boot: DHCP (full or proxy), TFTP for the iPXE binaries, the
HTTP boot server (iPXE scripts, images, per-machine Ignition) and IPv6 router
advertisements, on the boot network of an install config.`,
		Example: `  vela pxe serve --config rack.yaml --ignition-dir /var/lib/vela/install/ignition`,
	}
	cmd.AddCommand(newPXEServeCmd())
	return cmd
}

func newPXEServeCmd() *cobra.Command {
	var f pxeServeFlags
	cmd := &cobra.Command{
		Use:   "serve --config FILE --ignition-dir DIR",
		Short: "Serve network boot to the machines of an install config until interrupted",
		Long: `Serve network boot on network.interface / network.address of the install config:
DHCP in network.dhcp.mode (full: leases from the pool and reservations from
machines[].address; proxy: boot options only, beside another DHCP server; off),
TFTP (undionly.kpxe, snponly.efi, ipxe.efi from Debian's ipxe package), the HTTP
boot server on network.ports.http, and IPv6 router advertisements (so iPXE does
not wait ~13 s for IPv6). Each machine gets its own <name>.ign from
--ignition-dir, only with its boot token. Unknown machines are recorded in the
state dir (see: vela machines ls). Needs root (ports 67, 69, 80; raw ICMPv6).
Logs are structured, one line per request, on standard error.`,
		Example: `  vela pxe serve --config rack.yaml --ignition-dir /var/lib/vela/install/ignition
  vela pxe serve -c lab.yaml --ignition-dir ./ign --state-dir ./pxe-state --images-dir ./images
  curl -s http://10.77.0.1/metrics | grep vela_pxe_`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPXEServe(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.config, "config", "c", "", "install config file")
	fl.StringVar(&f.ignitionDir, "ignition-dir", "", "directory of rendered Ignition configs, one <machine>.ign each")
	fl.StringVar(&f.stateDir, "state-dir", "/var/lib/vela/pxe", "where leases, boot tokens and discovered machines are kept")
	fl.StringVar(&f.imagesDir, "images-dir", "/var/lib/vela/images", "image store: IMAGE/current/{kernel,initramfs,rootfs}")
	fl.StringVar(&f.tftpRoot, "tftp-root", "", "directory served over TFTP (default: Debian's ipxe package, /usr/lib/ipxe)")
	fl.StringVar(&f.velaBinary, "vela-binary", "", "vela binary served at /vela/vela (default: this executable)")
	fl.BoolVar(&f.noRA, "no-ra", false, "send no IPv6 router advertisements (iPXE then waits ~13 s for IPv6)")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	_ = cmd.MarkFlagRequired("config")
	_ = cmd.MarkFlagRequired("ignition-dir")
	return cmd
}

func runPXEServe(cmd *cobra.Command, f pxeServeFlags) error {
	cfg, _, diags := loadConfig(cmd, f.config)
	printDiags(cmd.ErrOrStderr(), diags)
	if cfg == nil || diags.HasErrors() {
		return exitError{code: 1, msg: fmt.Sprintf("%s: %d error(s); not serving", f.config, len(diags.Errors()))}
	}
	var h slog.Handler = slog.NewTextHandler(cmd.ErrOrStderr(), nil)
	if f.logFormat == "json" {
		h = slog.NewJSONHandler(cmd.ErrOrStderr(), nil)
	} else if f.logFormat != "text" {
		return exitError{code: 1, msg: fmt.Sprintf("--log-format %q: use text or json", f.logFormat)}
	}
	log := slog.New(h)
	configDir, _ := filepath.Abs(filepath.Dir(f.config))
	svc, err := serve.New(serve.Config{
		Install: cfg, ConfigDir: configDir, IgnitionDir: f.ignitionDir, StateDir: f.stateDir, ImagesDir: f.imagesDir,
		TFTPRoot: f.tftpRoot, VelaBinary: f.velaBinary, NoRA: f.noRA, Logger: log,
		OnState: func(machine, mac, state, detail string) {
			log.Info("machine state", "machine", machine, "mac", mac, "state", state, "detail", detail)
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "serving network boot on %s (%s), HTTP %s; Ctrl-C stops\n", cfg.Network.Interface, cfg.Network.Address, svc.HTTPBase)
	return svc.Run(cmd.Context())
}
