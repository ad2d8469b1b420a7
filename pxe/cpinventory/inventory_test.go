package cpinventory

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/pxe"
)

func TestLookup(t *testing.T) {
	inv, c, _ := newTestInventory(t)
	c.apply(t, fsm.TypeMachineUpsert, fsm.Upsert[fsm.Machine]{Object: fsm.Machine{Name: "hv9", MAC: "52:54:00:00:00:09", Role: "hypervisor", Address: "192.168.50.19", State: fsm.MachineAdmitted, BootToken: "tok-9"}})
	args := "console=tty0 console=ttyS0,115200n8 net.ifnames=0 apparmor=0"
	tests := []struct {
		name    string
		client  pxe.Client
		want    pxe.Machine
		wantErr error
	}{
		{"by MAC, installed on disk", pxe.Client{MAC: "0C-C4-7A-00-00-02"}, pxe.Machine{Name: "b", MAC: "0c:c4:7a:00:00:02", Image: "vela-os", KernelArgs: args,
			Disk: "/dev/disk/by-id/wwn-0x5000", Installed: true, BootToken: "tok-b"}, nil},
		{"by UUID", pxe.Client{MAC: "52:54:00:99:99:99", UUID: "4C4C4544-0042-3510-8052-B4C04F4E4A31"}, pxe.Machine{Name: "a", UUID: "4c4c4544-0042-3510-8052-b4c04f4e4a31",
			Address: netip.MustParseAddr("192.168.50.10"), Image: "vela-os", KernelArgs: args, BootToken: "tok-a"}, nil},
		{"admitted", pxe.Client{MAC: "52:54:00:00:00:09"}, pxe.Machine{Name: "hv9", MAC: "52:54:00:00:00:09", Address: netip.MustParseAddr("192.168.50.19"),
			Image: "vela-os", KernelArgs: args, BootToken: "tok-9"}, nil},
		{"unknown", pxe.Client{MAC: "52:54:00:00:00:77"}, pxe.Machine{}, pxe.ErrUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := inv.Lookup(context.Background(), tt.client)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestLookupWithoutInstallConfig(t *testing.T) {
	c := newFakeCluster(t)
	c.apply(t, fsm.TypeMachineUpsert, fsm.Upsert[fsm.Machine]{Object: fsm.Machine{Name: "hv", MAC: "52:54:00:00:00:01"}})
	inv, err := New(Config{Cluster: c, BootURL: "http://10.0.0.1", BootAddress: netip.MustParsePrefix("10.0.0.1/24")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inv.Lookup(context.Background(), pxe.Client{MAC: "52:54:00:00:00:01"}); !errors.Is(err, ErrNoConfig) {
		t.Fatalf("got %v, want ErrNoConfig (not unknown: the machine is known)", err)
	}
}

func TestDiscoverIsRateLimited(t *testing.T) {
	inv, c, now := newTestInventory(t)
	ctx := context.Background()
	unknown := pxe.Client{MAC: "52:54:00:00:00:aa", Arch: "bios", IP: "192.168.50.100"}
	for range 5 {
		if err := inv.Discover(ctx, unknown); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.count(fsm.TypeMachineDiscovered); n != 1 {
		t.Errorf("5 sightings within a minute made %d writes, want 1", n)
	}
	unknown.IP = "192.168.50.101"
	inv.Discover(ctx, unknown)
	*now = now.Add(2 * time.Minute)
	inv.Discover(ctx, unknown)
	if n := c.count(fsm.TypeMachineDiscovered); n != 3 {
		t.Errorf("a changed IP and a sighting a minute later: %d writes, want 3", n)
	}
	var d fsm.DiscoveredMachine
	c.View(func(s *fsm.State) { d = s.Discovered["52:54:00:00:00:aa"] })
	if d.IP != "192.168.50.101" || d.Arch != "bios" || !d.FirstSeen.Equal(t0) || !d.LastSeen.Equal(t0.Add(2*time.Minute)) || d.By != "a" {
		t.Errorf("recorded %+v", d)
	}

	// A flood of new MACs: the burst, then DiscoverRate per second.
	for i := range 100 {
		inv.Discover(ctx, pxe.Client{MAC: fmt.Sprintf("52:54:00:01:00:%02x", i)})
	}
	if n := c.count(fsm.TypeMachineDiscovered); n != 3+DefaultDiscoverBurst {
		t.Errorf("100 new MACs at once made %d writes, want the burst of %d", n-3, DefaultDiscoverBurst)
	}
	*now = now.Add(time.Second)
	for i := range 100 {
		inv.Discover(ctx, pxe.Client{MAC: fmt.Sprintf("52:54:00:02:00:%02x", i)})
	}
	if n := c.count(fsm.TypeMachineDiscovered); n != 3+DefaultDiscoverBurst+DefaultDiscoverRate {
		t.Errorf("one second later: %d more writes, want %d", n-3-DefaultDiscoverBurst, DefaultDiscoverRate)
	}
	if err := inv.Discover(ctx, pxe.Client{MAC: "nope"}); err == nil {
		t.Error("a bad MAC was accepted")
	}
}

func TestDiscoverFailureRetriesNextTime(t *testing.T) {
	inv, c, _ := newTestInventory(t)
	c.Fail = errBroken
	ctx := context.Background()
	if err := inv.Discover(ctx, pxe.Client{MAC: "52:54:00:00:00:aa"}); !errors.Is(err, errBroken) {
		t.Fatalf("got %v", err)
	}
	c.Fail = nil
	inv.Discover(ctx, pxe.Client{MAC: "52:54:00:00:00:aa"})
	if n := c.count(fsm.TypeMachineDiscovered); n != 1 {
		t.Errorf("after a failed write the next sighting made %d writes, want 1", n)
	}
}

func TestMachineStates(t *testing.T) {
	inv, c, _ := newTestInventory(t)
	c.apply(t, fsm.TypeMachineUpsert, fsm.Upsert[fsm.Machine]{Object: fsm.Machine{Name: "live", MAC: "52:54:00:00:00:01", Role: "hypervisor", State: fsm.MachineAdmitted, BootToken: "t"}})
	c.apply(t, fsm.TypeMachineUpsert, fsm.Upsert[fsm.Machine]{Object: fsm.Machine{Name: "disk", MAC: "52:54:00:00:00:02", Role: "hypervisor", Disk: "/dev/vda", State: fsm.MachineAdmitted, BootToken: "t"}})
	steps := []struct {
		machine, state, want string
	}{
		{"live", pxe.StatePXERequested, fsm.MachineAdmitted},
		{"live", pxe.StateConfigFetched, fsm.MachineConfigFetched},
		{"live", pxe.StateReported, fsm.MachineReported},
		{"disk", pxe.StateConfigFetched, fsm.MachineConfigFetched},
		{"disk", "installed", fsm.MachineInstalled}, // MarkInstalled, then the report
		{"disk", pxe.StateReported, fsm.MachineInstalled},
		{"", pxe.StateReported, ""},
	}
	for _, s := range steps {
		if s.state == "installed" {
			if err := inv.MarkInstalled(context.Background(), s.machine); err != nil {
				t.Fatal(err)
			}
		} else {
			inv.OnState(s.machine, "", s.state, "")
		}
		if s.machine == "" {
			continue
		}
		if got := c.machine(s.machine).State; got != s.want {
			t.Errorf("%s after %s: state %q, want %q", s.machine, s.state, got, s.want)
		}
	}
	if m := c.machine("disk"); m.BootToken != "t" || m.Disk != "/dev/vda" {
		t.Errorf("a state write lost the record's other fields: %+v", m)
	}
	if err := inv.MarkInstalled(context.Background(), "gone"); err == nil {
		t.Error("marking an unknown machine installed succeeded")
	}
}
