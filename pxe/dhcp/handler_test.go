package dhcp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/vela-appliance/vela/pxe"
	"github.com/vela-appliance/vela/pxe/pxetest"
)

var (
	macStatic  = mustMAC("52:54:00:aa:00:01")
	macDynamic = mustMAC("52:54:00:aa:00:02")
	macUnknown = mustMAC("52:54:00:ff:00:01")
	t0         = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
)

func mustMAC(s string) net.HardwareAddr { hw, _ := net.ParseMAC(s); return hw }

type fix struct {
	s      *Server
	inv    *pxetest.Inventory
	states *pxetest.States
	now    *time.Time
}

func newFix(t *testing.T, mode string, pool string, stateDir string) *fix {
	t.Helper()
	f := &fix{inv: &pxetest.Inventory{Machines: []pxe.Machine{
		{Name: "m1", MAC: macStatic.String(), Address: netip.MustParseAddr("10.0.0.11")},
		{Name: "m2", MAC: macDynamic.String()},
	}}, states: &pxetest.States{}}
	now := t0
	f.now = &now
	first, last, _ := cutRange(pool)
	s, err := New(Config{
		Mode: mode, ServerIP: netip.MustParseAddr("10.0.0.1"), Subnet: netip.MustParsePrefix("10.0.0.0/24"),
		PoolFirst: first, PoolLast: last, Router: netip.MustParseAddr("10.0.0.254"),
		DNS: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, LeaseTime: time.Hour,
		HTTPBase: "http://10.0.0.1:8080", Inventory: f.inv, OnState: f.states.Record, StateDir: stateDir,
		Now: func() time.Time { return *f.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	f.s = s
	return f
}

func cutRange(s string) (netip.Addr, netip.Addr, bool) {
	var a, b string
	if _, err := fmt.Sscanf(s, "%s %s", &a, &b); err != nil {
		return netip.Addr{}, netip.Addr{}, false
	}
	return netip.MustParseAddr(a), netip.MustParseAddr(b), true
}

type pkt struct {
	mac   net.HardwareAddr
	mt    dhcpv4.MessageType
	arch  *iana.Arch
	class string
	user  string
	reqIP string
	sid   string
}

func (p pkt) build(t *testing.T) *dhcpv4.DHCPv4 {
	t.Helper()
	mods := []dhcpv4.Modifier{dhcpv4.WithMessageType(p.mt)}
	if p.arch != nil {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClientArch(*p.arch)))
	}
	if p.class != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClassIdentifier(p.class)))
	}
	if p.user != "" {
		mods = append(mods, dhcpv4.WithGeneric(dhcpv4.OptionUserClassInformation, []byte(p.user)))
	}
	if p.reqIP != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP(p.reqIP))))
	}
	if p.sid != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP(p.sid))))
	}
	d, err := dhcpv4.New(append(mods, dhcpv4.WithHwAddr(p.mac))...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// summary is what a test checks in a reply.
type summary struct {
	Type, YourIP, File, Class, ServerIP, Host string
}

func summarize(r *dhcpv4.DHCPv4) *summary {
	if r == nil {
		return nil
	}
	s := &summary{Type: r.MessageType().String(), File: r.BootFileName, Class: r.ClassIdentifier(), Host: r.HostName()}
	if !r.YourIPAddr.IsUnspecified() {
		s.YourIP = r.YourIPAddr.String()
	}
	if !r.ServerIPAddr.IsUnspecified() {
		s.ServerIP = r.ServerIPAddr.String()
	}
	return s
}

func arch(a iana.Arch) *iana.Arch { return &a }

func TestFullMode(t *testing.T) {
	f := newFix(t, ModeFull, "10.0.0.100 10.0.0.102", "")
	ctx := context.Background()
	tests := []struct {
		name string
		p    pkt
		want *summary
	}{
		{"BIOS firmware, reservation", pkt{mac: macStatic, mt: dhcpv4.MessageTypeDiscover, arch: arch(iana.INTEL_X86PC), class: "PXEClient:Arch:00000:UNDI:002001"},
			&summary{Type: "OFFER", YourIP: "10.0.0.11", File: "undionly.kpxe", ServerIP: "10.0.0.1", Host: "m1"}},
		{"UEFI firmware", pkt{mac: macStatic, mt: dhcpv4.MessageTypeDiscover, arch: arch(iana.EFI_X86_64), class: "PXEClient:Arch:00007:UNDI:003016"},
			&summary{Type: "OFFER", YourIP: "10.0.0.11", File: "snponly.efi", ServerIP: "10.0.0.1", Host: "m1"}},
		{"iPXE", pkt{mac: macStatic, mt: dhcpv4.MessageTypeDiscover, arch: arch(iana.INTEL_X86PC), class: "PXEClient:Arch:00000:UNDI:002001", user: "iPXE"},
			&summary{Type: "OFFER", YourIP: "10.0.0.11", File: "http://10.0.0.1:8080/boot.ipxe?mac=52:54:00:aa:00:01", Class: "PXEClient", ServerIP: "10.0.0.1", Host: "m1"}},
		{"booted OS", pkt{mac: macStatic, mt: dhcpv4.MessageTypeDiscover},
			&summary{Type: "OFFER", YourIP: "10.0.0.11", Host: "m1"}},
		{"arm64 firmware: lease, no boot file", pkt{mac: macStatic, mt: dhcpv4.MessageTypeDiscover, arch: arch(iana.EFI_ARM64), class: "PXEClient"},
			&summary{Type: "OFFER", YourIP: "10.0.0.11", Host: "m1"}},
		{"dynamic known machine", pkt{mac: macDynamic, mt: dhcpv4.MessageTypeDiscover},
			&summary{Type: "OFFER", YourIP: "10.0.0.100", Host: "m2"}},
		{"unknown machine", pkt{mac: macUnknown, mt: dhcpv4.MessageTypeDiscover, arch: arch(iana.INTEL_X86PC), class: "PXEClient"},
			&summary{Type: "OFFER", YourIP: "10.0.0.101", File: "undionly.kpxe", ServerIP: "10.0.0.1"}},
		{"request reservation", pkt{mac: macStatic, mt: dhcpv4.MessageTypeRequest, reqIP: "10.0.0.11", sid: "10.0.0.1"},
			&summary{Type: "ACK", YourIP: "10.0.0.11", Host: "m1"}},
		{"request wrong address for reservation", pkt{mac: macStatic, mt: dhcpv4.MessageTypeRequest, reqIP: "10.0.0.12"},
			&summary{Type: "NAK", ServerIP: "", Host: ""}},
		{"request for another server", pkt{mac: macStatic, mt: dhcpv4.MessageTypeRequest, reqIP: "10.0.0.11", sid: "10.0.0.2"}, nil},
		{"request offered pool address", pkt{mac: macDynamic, mt: dhcpv4.MessageTypeRequest, reqIP: "10.0.0.100", sid: "10.0.0.1"},
			&summary{Type: "ACK", YourIP: "10.0.0.100", Host: "m2"}},
		{"request someone else's address", pkt{mac: macUnknown, mt: dhcpv4.MessageTypeRequest, reqIP: "10.0.0.100"},
			&summary{Type: "NAK"}},
		{"request outside pool", pkt{mac: macUnknown, mt: dhcpv4.MessageTypeRequest, reqIP: "10.0.0.50"},
			&summary{Type: "NAK"}},
	}
	for _, tt := range tests {
		got := summarize(f.s.Handle(ctx, tt.p.build(t), 67))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	if a, ok := f.s.LeaseIP(macDynamic.String()); !ok || a.String() != "10.0.0.100" {
		t.Errorf("LeaseIP(m2) = %v, %v; want 10.0.0.100", a, ok)
	}
	if a, ok := f.s.LeaseIP(macStatic.String()); !ok || a.String() != "10.0.0.11" {
		t.Errorf("LeaseIP(m1) = %v, %v; want the reservation", a, ok)
	}
	if diff := cmp.Diff([]string{macUnknown.String()}, f.inv.DiscoveredMACs()); diff != "" {
		t.Errorf("discovered (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"m1 52:54:00:aa:00:01 pxe-requested", "m1 52:54:00:aa:00:01 pxe-requested", "m1 52:54:00:aa:00:01 pxe-requested", "m1 52:54:00:aa:00:01 pxe-requested"}, f.states.Snapshot()); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

func TestProxyMode(t *testing.T) {
	f := newFix(t, ModeProxy, "", "")
	ctx := context.Background()
	pxeClass := "PXEClient:Arch:00000:UNDI:002001"
	tests := []struct {
		name string
		p    pkt
		port int
		want *summary
	}{
		{"firmware discover", pkt{mac: macDynamic, mt: dhcpv4.MessageTypeDiscover, arch: arch(iana.INTEL_X86PC), class: pxeClass}, 67,
			&summary{Type: "OFFER", File: "undionly.kpxe", Class: "PXEClient", ServerIP: "10.0.0.1"}},
		{"iPXE discover", pkt{mac: macDynamic, mt: dhcpv4.MessageTypeDiscover, class: pxeClass, user: "iPXE"}, 67,
			&summary{Type: "OFFER", File: "http://10.0.0.1:8080/boot.ipxe?mac=52:54:00:aa:00:02", Class: "PXEClient", ServerIP: "10.0.0.1"}},
		{"iPXE proxy request on 4011", pkt{mac: macDynamic, mt: dhcpv4.MessageTypeRequest, class: pxeClass, user: "iPXE"}, ProxyPort,
			&summary{Type: "ACK", File: "http://10.0.0.1:8080/boot.ipxe?mac=52:54:00:aa:00:02", Class: "PXEClient", ServerIP: "10.0.0.1"}},
		{"request to the real server", pkt{mac: macDynamic, mt: dhcpv4.MessageTypeRequest, reqIP: "10.0.0.77", sid: "10.0.0.2"}, 67, nil},
		{"booted OS", pkt{mac: macDynamic, mt: dhcpv4.MessageTypeDiscover}, 67, nil},
		{"unknown PXE client", pkt{mac: macUnknown, mt: dhcpv4.MessageTypeDiscover, class: pxeClass}, 67, nil},
	}
	for _, tt := range tests {
		req := tt.p.build(t)
		r := f.s.Handle(ctx, req, tt.port)
		if diff := cmp.Diff(tt.want, summarize(r)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
		if r != nil && r.MessageType() == dhcpv4.MessageTypeOffer && r.GetOneOption(dhcpv4.OptionVendorSpecificInformation) == nil {
			t.Errorf("%s: proxy offer lacks option 43", tt.name)
		}
	}
	if len(f.inv.DiscoveredMACs()) != 1 {
		t.Errorf("discovered %v, want the unknown PXE client", f.inv.DiscoveredMACs())
	}
}

func TestFloodDoesNotDenyKnownMachines(t *testing.T) {
	f := newFix(t, ModeFull, "10.0.0.100 10.0.0.109", "")
	ctx := context.Background()
	for i := 0; i < 200; i++ {
		mac := net.HardwareAddr{0x02, 0xee, 0, 0, byte(i >> 8), byte(i)}
		offer := f.s.Handle(ctx, pkt{mac: mac, mt: dhcpv4.MessageTypeDiscover}.build(t), 67)
		if offer == nil {
			continue
		}
		f.s.Handle(ctx, pkt{mac: mac, mt: dhcpv4.MessageTypeRequest, reqIP: offer.YourIPAddr.String(), sid: "10.0.0.1"}.build(t), 67)
	}
	extra := net.HardwareAddr{0x02, 0xee, 1, 0, 0, 0}
	if r := f.s.Handle(ctx, pkt{mac: extra, mt: dhcpv4.MessageTypeDiscover}.build(t), 67); r != nil {
		t.Errorf("pool of 10 full, an 201st unknown MAC got %v", summarize(r))
	}
	for _, tt := range []struct {
		mac  net.HardwareAddr
		want string
	}{{macStatic, "10.0.0.11"}, {macDynamic, "pool"}} {
		r := f.s.Handle(ctx, pkt{mac: tt.mac, mt: dhcpv4.MessageTypeDiscover}.build(t), 67)
		got := ""
		if r != nil {
			got = r.YourIPAddr.String()
			if f.s.leases.inPool(addr(r.YourIPAddr)) {
				got = "pool"
			}
		}
		if got != tt.want {
			t.Errorf("known %s after the flood: %v; want an offer of %s", tt.mac, summarize(r), tt.want)
		}
	}
}

func TestRateLimitPerMAC(t *testing.T) {
	f := newFix(t, ModeFull, "10.0.0.100 10.0.0.109", "")
	answered := 0
	for i := 0; i < 50; i++ {
		if f.s.Handle(context.Background(), pkt{mac: macUnknown, mt: dhcpv4.MessageTypeDiscover}.build(t), 67) != nil {
			answered++
		}
	}
	if answered != 12 {
		t.Errorf("50 packets at once from one MAC: %d answered, want the burst of 12", answered)
	}
	if f.s.Handle(context.Background(), pkt{mac: macStatic, mt: dhcpv4.MessageTypeDiscover}.build(t), 67) == nil {
		t.Error("another MAC was limited too")
	}
	*f.now = f.now.Add(time.Second)
	if f.s.Handle(context.Background(), pkt{mac: macUnknown, mt: dhcpv4.MessageTypeDiscover}.build(t), 67) == nil {
		t.Error("limited MAC not answered again a second later")
	}
}

func TestLeasesPersist(t *testing.T) {
	dir := t.TempDir()
	f := newFix(t, ModeFull, "10.0.0.100 10.0.0.109", dir)
	ctx := context.Background()
	f.s.Handle(ctx, pkt{mac: macUnknown, mt: dhcpv4.MessageTypeDiscover}.build(t), 67)
	f.s.Handle(ctx, pkt{mac: macUnknown, mt: dhcpv4.MessageTypeRequest, reqIP: "10.0.0.100"}.build(t), 67)
	if err := f.s.leases.flush(); err != nil {
		t.Fatal(err)
	}
	g := newFix(t, ModeFull, "10.0.0.100 10.0.0.109", dir)
	if a, ok := g.s.LeaseIP(macUnknown.String()); !ok || a.String() != "10.0.0.100" {
		t.Errorf("after restart LeaseIP = %v, %v; want 10.0.0.100", a, ok)
	}
	if r := g.s.Handle(ctx, pkt{mac: macDynamic, mt: dhcpv4.MessageTypeDiscover}.build(t), 67); r == nil || r.YourIPAddr.String() != "10.0.0.101" {
		t.Errorf("after restart a new client got %v; want 10.0.0.101 (10.0.0.100 is leased)", summarize(r))
	}
}

func TestMachineUUID(t *testing.T) {
	d, _ := dhcpv4.New(dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier,
		[]byte{0, 0x44, 0x45, 0x4c, 0x4c, 0x42, 0x00, 0x10, 0x35, 0x80, 0x52, 0xb4, 0xc0, 0x4f, 0x4e, 0x4a, 0x31}))
	if got, want := MachineUUID(d), "4c4c4544-0042-3510-8052-b4c04f4e4a31"; got != want {
		t.Errorf("MachineUUID = %q, want %q", got, want)
	}
}

func FuzzHandle(f *testing.F) {
	seed, _ := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover), dhcpv4.WithHwAddr(macStatic),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient")), dhcpv4.WithGeneric(dhcpv4.OptionUserClassInformation, []byte("iPXE")))
	f.Add(seed.ToBytes(), uint8(0))
	req, _ := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), dhcpv4.WithHwAddr(macDynamic),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP("10.0.0.100"))))
	f.Add(req.ToBytes(), uint8(1))
	f.Add(make([]byte, 300), uint8(2))
	full := newFixNoT(ModeFull)
	proxy := newFixNoT(ModeProxy)
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		d, err := dhcpv4.FromBytes(b)
		if err != nil {
			return
		}
		s, port := full, 67
		if which%2 == 1 {
			s = proxy
		}
		if which%3 == 2 {
			port = ProxyPort
		}
		r := s.Handle(context.Background(), d, port)
		if r == nil {
			return
		}
		if s == proxy && !r.YourIPAddr.IsUnspecified() {
			t.Fatalf("proxy mode handed out %s", r.YourIPAddr)
		}
		if y := addr(r.YourIPAddr); y.IsValid() && !netip.MustParsePrefix("10.0.0.0/24").Contains(y) {
			t.Fatalf("offered %s outside the subnet", y)
		}
		if _, err := dhcpv4.FromBytes(r.ToBytes()); err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
	})
}

func newFixNoT(mode string) *Server {
	inv := &pxetest.Inventory{Machines: []pxe.Machine{
		{Name: "m1", MAC: macStatic.String(), Address: netip.MustParseAddr("10.0.0.11")},
		{Name: "m2", MAC: macDynamic.String()},
	}}
	cfg := Config{Mode: mode, ServerIP: netip.MustParseAddr("10.0.0.1"), Subnet: netip.MustParsePrefix("10.0.0.0/24"),
		HTTPBase: "http://10.0.0.1", Inventory: inv, Rate: 1e9, Burst: 1e9}
	if mode == ModeFull {
		cfg.PoolFirst, cfg.PoolLast = netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("10.0.0.199")
	}
	s, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return s
}
