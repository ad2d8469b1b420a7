package httpboot

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vela-appliance/vela/pxe"
)

// fixedConfigs is a ConfigSource with one config per machine name; Err
// fails every call.
type fixedConfigs struct {
	configs map[string]string
	Err     error
}

func (f fixedConfigs) Config(_ context.Context, m pxe.Machine) ([]byte, error) {
	if f.Err != nil {
		return nil, f.Err
	}
	return []byte(f.configs[m.Name]), nil
}

// TestInventoryTokensAndConfigs: a machine whose inventory keeps its boot
// token (the control plane's) gets that token in its script and must
// present it; its config comes from Configs, not from IgnitionDir.
func TestInventoryTokensAndConfigs(t *testing.T) {
	f := newFixture(t)
	f.inv.Machines[2].BootToken = "cafe0123456789"
	src := fixedConfigs{configs: map[string]string{"m3": `{"ignition":{"version":"3.5.0"},"m":"m3"}`}}
	f.srv.cfg.Configs = src
	w := f.do("GET", "/boot.ipxe?mac="+mac3, "", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "token=cafe0123456789") {
		t.Fatalf("script %d: %s; want the inventory's token", w.Code, w.Body)
	}
	tests := []struct {
		name, target string
		want         int
	}{
		{"inventory token", "/ignition/" + mac3 + "?token=cafe0123456789", 200},
		{"another token", "/ignition/" + mac3 + "?token=cafe0123456788", 403},
		{"no token", "/ignition/" + mac3, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do("GET", tt.target, "", "")
			if w.Code != tt.want {
				t.Fatalf("HTTP %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if tt.want == 200 && w.Body.String() != src.configs["m3"] {
				t.Errorf("served %s", w.Body)
			}
		})
	}
	f.srv.cfg.Configs = fixedConfigs{Err: errors.New("no quorum")}
	if w := f.do("GET", "/ignition/"+mac3+"?token=cafe0123456789", "", ""); w.Code != 503 || !strings.Contains(w.Body.String(), "no quorum") {
		t.Errorf("a failing source: HTTP %d %s, want 503 saying why", w.Code, w.Body)
	}
}
