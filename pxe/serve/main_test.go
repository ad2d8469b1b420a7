package serve

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/vela-appliance/vela/installer/config"
)

// helperEnv makes the test binary act as `vela pxe serve` (the same
// serve.New + Run), so integration tests can run it as a process inside a
// network namespace: every socket it opens, including pin/tftp's
// per-transfer ones, then lives there. Value: CONFIG:IGNITION_DIR:STATE_DIR.
const helperEnv = "VELA_PXE_SERVE_HELPER"

func TestMain(m *testing.M) {
	if v := os.Getenv(helperEnv); v != "" {
		os.Exit(serveHelper(v))
	}
	os.Exit(m.Run())
}

func serveHelper(v string) int {
	var cfgPath, ignDir, stateDir string
	if _, err := fmt.Sscanf(v, "%s %s %s", &cfgPath, &ignDir, &stateDir); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	cfg, _, diags := config.Load(cfgPath)
	if cfg == nil || diags.HasErrors() {
		fmt.Fprintln(os.Stderr, "helper: config:", diags)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	svc, err := New(Config{Install: cfg, ConfigDir: filepath.Dir(cfgPath), IgnitionDir: ignDir, StateDir: stateDir, Logger: log,
		OnState: func(machine, mac, state, detail string) {
			log.Info("machine state", "machine", machine, "mac", mac, "state", state, "detail", detail)
		}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	if err := svc.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	return 0
}
