package inventory

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/pxe"
)

func testConfig() *config.Config {
	return &config.Config{
		OS: config.OS{Image: config.ImageVelaOS, KernelArgs: "console=ttyS0"},
		Machines: []config.Machine{
			{Name: "m1", MAC: "52:54:00:AA:00:01", Address: "10.0.0.11", Role: config.RoleBoth, Disk: "/dev/vda"},
			{Name: "m2", UUID: "4C4C4544-0042-3510-8052-B4C04F4E4A31", Address: config.AddressDHCP, Role: config.RoleHypervisor},
		},
	}
}

func TestLookup(t *testing.T) {
	inv, err := New(Config{Install: testConfig()})
	if err != nil {
		t.Fatal(err)
	}
	// vela-os machines get the image's own kernel arguments before the operator's.
	args := images.VelaOSKernelArgs + " console=ttyS0"
	m1 := pxe.Machine{Name: "m1", MAC: "52:54:00:aa:00:01", Address: netip.MustParseAddr("10.0.0.11"), Image: "vela-os", KernelArgs: args, Disk: "/dev/vda"}
	m2 := pxe.Machine{Name: "m2", UUID: "4c4c4544-0042-3510-8052-b4c04f4e4a31", Image: "vela-os", KernelArgs: args}
	tests := []struct {
		c    pxe.Client
		want pxe.Machine
		err  error
	}{
		{pxe.Client{MAC: "52-54-00-aa-00-01"}, m1, nil},
		{pxe.Client{MAC: "52:54:00:aa:00:02", UUID: "4C4C4544-0042-3510-8052-B4C04F4E4A31"}, m2, nil},
		{pxe.Client{MAC: "52:54:00:aa:00:02"}, pxe.Machine{}, pxe.ErrUnknown},
		{pxe.Client{MAC: "garbage"}, pxe.Machine{}, pxe.ErrUnknown},
	}
	for _, tt := range tests {
		got, err := inv.Lookup(context.Background(), tt.c)
		if !errors.Is(err, tt.err) {
			t.Errorf("Lookup(%+v) err = %v, want %v", tt.c, err, tt.err)
		}
		if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("Lookup(%+v) (-want +got):\n%s", tt.c, diff)
		}
	}
}

func TestDiscoverAndInstalledPersist(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	inv, err := New(Config{Install: testConfig(), StateDir: dir, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := inv.Discover(ctx, pxe.Client{MAC: "52:54:00:BB:00:09", Arch: "bios"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if err := inv.Discover(ctx, pxe.Client{MAC: "52:54:00:bb:00:09", IP: "10.0.0.150", UUID: "ABC"}); err != nil {
		t.Fatal(err)
	}
	if err := inv.Discover(ctx, pxe.Client{MAC: "nope"}); err == nil {
		t.Error("Discover with a bad MAC succeeded")
	}
	if err := inv.MarkInstalled(ctx, "m1"); err != nil {
		t.Fatal(err)
	}
	got, err := ListDiscovered(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []pxe.Discovered{{MAC: "52:54:00:bb:00:09", UUID: "abc", Arch: "bios", IP: "10.0.0.150",
		FirstSeen: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), LastSeen: now}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListDiscovered (-want +got):\n%s", diff)
	}
	inv2, err := New(Config{Install: testConfig(), StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := inv2.Lookup(ctx, pxe.Client{MAC: "52:54:00:aa:00:01"})
	if !m.Installed {
		t.Error("m1 not installed after reload")
	}
}

func TestDiscoveredBounded(t *testing.T) {
	inv, err := New(Config{Install: testConfig()})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < MaxDiscovered+50; i++ {
		mac := []byte{0x02, 0, byte(i >> 16), byte(i >> 8), byte(i), 1}
		if err := inv.Discover(context.Background(), pxe.Client{MAC: macString(mac)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(inv.Discovered()); n != MaxDiscovered {
		t.Errorf("%d discovered kept, want %d", n, MaxDiscovered)
	}
}

func macString(b []byte) string {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 17)
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}
