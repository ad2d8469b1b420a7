package cpinventory

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/ignition"
	"github.com/vela-appliance/vela/pxe"
)

// TestConfigNodeImage: a hypervisor admitted on day 2 gets the node image
// from the serving member's boot URL, checked against the member's hash;
// without one it renders all the same, and the log says what to do.
func TestConfigNodeImage(t *testing.T) {
	sum := strings.Repeat("5e", 64)
	tests := []struct {
		name, hash string
		wantWarn   bool
	}{
		{"member has the node image", sum, false},
		{"member has none", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			inv, c, _ := newTestInventory(t, func(cfg *Config) {
				cfg.NodeImageSHA512 = tt.hash
				cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			c.apply(t, fsm.TypeMachineUpsert, fsm.Upsert[fsm.Machine]{Object: fsm.Machine{Name: "hv9", MAC: "52:54:00:00:00:09",
				Role: "hypervisor", State: fsm.MachineAdmitted, BootToken: "t"}})
			out, err := inv.Config(context.Background(), pxe.Machine{Name: "hv9"})
			if err != nil {
				t.Fatal(err)
			}
			if err := ignition.Validate(out); err != nil {
				t.Fatal(err)
			}
			wantParts := []string{`"path":"` + ignition.NodeImagePath + `"`, `"source":"http://192.168.50.10:80` + ignition.NodeImageURLPath + `"`,
				`"hash":"sha512-` + sum + `"`, "var-lib-vela-images-node-rootfs.mount"}
			for _, w := range wantParts {
				if got := bytes.Contains(out, []byte(w)); got != (tt.hash != "") {
					t.Errorf("config contains %s: %v, want %v", w, got, tt.hash != "")
				}
			}
			warned := strings.Contains(logs.String(), "level=WARN msg=\"hypervisor rendered without the node image") &&
				strings.Contains(logs.String(), ignition.NodeImagePath) && strings.Contains(logs.String(), "machine=hv9")
			if warned != tt.wantWarn {
				t.Errorf("warned %v, want %v; log:\n%s", warned, tt.wantWarn, logs.String())
			}
		})
	}
}
