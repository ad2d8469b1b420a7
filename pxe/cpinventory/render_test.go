package cpinventory

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/ignition"
	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/pxe"
)

// joinTokens lists the join tokens of the state.
func joinTokens(c *fakeCluster) []fsm.JoinToken {
	var out []fsm.JoinToken
	c.View(func(s *fsm.State) { out = fsm.Sorted(s.JoinTokens) })
	return out
}

func TestConfigRenderedOncePerMachine(t *testing.T) {
	inv, c, now := newTestInventory(t)
	c.apply(t, fsm.TypeMachineUpsert, fsm.Upsert[fsm.Machine]{Object: fsm.Machine{Name: "hv9", MAC: "52:54:00:00:00:09", Role: "hypervisor", State: fsm.MachineAdmitted, BootToken: "t"}})
	ctx := context.Background()
	m := pxe.Machine{Name: "hv9"}
	first, err := inv.Config(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := ignition.Validate(first); err != nil {
		t.Fatal(err)
	}
	toks := joinTokens(c)
	if len(toks) != 1 || toks[0].Role != fsm.JoinAgent || !toks[0].Expires.Equal(t0.Add(DefaultJoinTTL)) {
		t.Fatalf("join tokens after the first render: %+v; want one agent token", toks)
	}
	for _, want := range []string{"hv9", "vjoin." + toks[0].ID + ".", "192.168.50.10"} {
		if !bytes.Contains(first, []byte(want)) {
			t.Errorf("the config lacks %q", want)
		}
	}
	if bytes.Contains(first, []byte("192.168.50.2")) {
		t.Error("the config still names the seed's address 192.168.50.2; day-2 configs use the serving member's")
	}

	again, _ := inv.Config(ctx, m)
	if !bytes.Equal(first, again) || len(joinTokens(c)) != 1 {
		t.Fatalf("a second request rendered again (%d join tokens)", len(joinTokens(c)))
	}

	// The machine used its token (it joined), then boots again: a new one.
	c.apply(t, fsm.TypeJoinTokenConsume, fsm.ConsumeJoinToken{Meta: fsm.Meta{Time: t0}, Hash: toks[0].Hash, By: "hv9"})
	third, _ := inv.Config(ctx, m)
	if bytes.Equal(first, third) || len(joinTokens(c)) != 2 {
		t.Errorf("after its join token was used the config was not rendered again")
	}
	// Close to expiry: a new one too.
	*now = now.Add(DefaultJoinTTL - time.Minute)
	fourth, _ := inv.Config(ctx, m)
	if bytes.Equal(third, fourth) || len(joinTokens(c)) != 3 {
		t.Errorf("a join token about to expire was served again")
	}
	// A changed record: a new one.
	c.apply(t, fsm.TypeMachineUpsert, fsm.Upsert[fsm.Machine]{Object: fsm.Machine{Name: "hv9", MAC: "52:54:00:00:00:09", Role: "both", Address: "192.168.50.19", BootToken: "t"}})
	fifth, _ := inv.Config(ctx, m)
	if bytes.Equal(fourth, fifth) || joinTokens(c)[len(joinTokens(c))-1].Role == "" {
		t.Error("a changed machine record kept its old config")
	}
	var roles []string
	for _, tk := range joinTokens(c) {
		roles = append(roles, tk.Role)
	}
	if !strings.Contains(strings.Join(roles, " "), fsm.JoinMember) {
		t.Errorf("role both got join tokens %v, want a member one", roles)
	}
}

func TestConfigErrors(t *testing.T) {
	inv, c, _ := newTestInventory(t)
	ctx := context.Background()
	if _, err := inv.Config(ctx, pxe.Machine{Name: "gone"}); err == nil || !strings.Contains(err.Error(), "not in the control plane") {
		t.Errorf("unknown machine: %v", err)
	}
	c.apply(t, fsm.TypeMachineUpsert, fsm.Upsert[fsm.Machine]{Object: fsm.Machine{Name: "hv9", MAC: "52:54:00:00:00:09", Role: "hypervisor"}})
	c.Fail = errBroken
	if _, err := inv.Config(ctx, pxe.Machine{Name: "hv9"}); err == nil || !strings.Contains(err.Error(), "join token") {
		t.Errorf("no quorum: %v", err)
	}
}

func TestConfigForJoinsThroughThisMember(t *testing.T) {
	c, err := ParseConfig([]byte(testYAML))
	if err != nil {
		t.Fatal(err)
	}
	inv, _, _ := newTestInventory(t)
	got := inv.configFor(c, fsm.Machine{Name: "new", MAC: "52:54:00:00:00:10"})
	var names []string
	for _, m := range got.Machines {
		names = append(names, m.Name+"/"+m.Role)
	}
	if diff := cmp.Diff([]string{"a/member", "b/hypervisor", "new/hypervisor"}, names); diff != "" {
		t.Errorf("machines (-want +got):\n%s", diff)
	}
	if got.Network.Address != "192.168.50.10/24" || c.Network.Address != "192.168.50.2/24" {
		t.Errorf("network.address %s (stored config now %s)", got.Network.Address, c.Network.Address)
	}
}

func TestPortableConfig(t *testing.T) {
	dir := t.TempDir()
	snippet := "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /etc/motd\n      contents: {inline: hello}\n"
	if err := os.WriteFile(filepath.Join(dir, "motd.bu"), []byte(snippet), 0o644); err != nil {
		t.Fatal(err)
	}
	text := testYAML + "butane:\n  - {name: motd, path: motd.bu}\n"
	orig, _, diags := config.Parse("rack.yaml", []byte(text))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	out, err := PortableConfig(orig, dir)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseConfig(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := *orig
	want.Butane = []config.Snippet{{Name: "motd", Inline: snippet}}
	if diff := cmp.Diff(&want, back); diff != "" {
		t.Errorf("loaded back (-want +got):\n%s\n%s", diff, out)
	}
	if _, err := PortableConfig(orig, t.TempDir()); err == nil || !strings.Contains(err.Error(), "motd") {
		t.Errorf("a missing snippet file: %v", err)
	}
}

// TestPortableConfigExamples: every valid example config loads back from
// its portable form as the same config.
func TestPortableConfigExamples(t *testing.T) {
	files, _ := filepath.Glob("../../installer/config/testdata/valid/*.yaml")
	more, _ := filepath.Glob("../../installer/config/examples/*.yaml")
	files = append(files, more...)
	if len(files) < 5 {
		t.Fatalf("found %d example configs; the paths moved?", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, _, diags := config.Load(f)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			out, err := PortableConfig(c, filepath.Dir(f))
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseConfig(out)
			if err != nil {
				t.Fatal(err)
			}
			want := *c
			for i, s := range want.Butane {
				if s.Path != "" {
					want.Butane[i] = back.Butane[i]
				}
			}
			if diff := cmp.Diff(&want, back); diff != "" {
				t.Errorf("loaded back (-want +got):\n%s", diff)
			}
		})
	}
}
