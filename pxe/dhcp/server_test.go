package dhcp

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/vela-appliance/vela/pxe"
	"github.com/vela-appliance/vela/pxe/internal/netnstest"
	"github.com/vela-appliance/vela/pxe/pxetest"
)

// TestDORAOverVeth runs the server in one namespace and real DHCP clients
// (insomniacslk's nclient4, raw sockets) in another, over a veth pair.
func TestDORAOverVeth(t *testing.T) {
	netnstest.Require(t)
	srvNS, cliNS := netnstest.NS(t), netnstest.NS(t)
	netnstest.Veth(t, srvNS, "boot0", "10.0.0.1/24", cliNS, "eth0", "")
	inv := &pxetest.Inventory{Machines: []pxe.Machine{{Name: "m1", MAC: macStatic.String(), Address: netip.MustParseAddr("10.0.0.11")}}}
	s, err := New(Config{Mode: ModeFull, Interface: "boot0", ServerIP: netip.MustParseAddr("10.0.0.1"), Subnet: netip.MustParsePrefix("10.0.0.0/24"),
		PoolFirst: netip.MustParseAddr("10.0.0.100"), PoolLast: netip.MustParseAddr("10.0.0.199"), HTTPBase: "http://10.0.0.1",
		Inventory: inv, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.PacketConn
	if err := netnstest.Do(srvNS, func() (err error) { conns, err = s.Listen(); return err }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, conns...) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	for _, tt := range []struct {
		mac          net.HardwareAddr
		wantIP, file string
	}{
		{macStatic, "10.0.0.11", "undionly.kpxe"},
		{macUnknown, "10.0.0.100", "undionly.kpxe"},
	} {
		var c *nclient4.Client
		if err := netnstest.Do(cliNS, func() (err error) {
			c, err = nclient4.New("eth0", nclient4.WithHWAddr(tt.mac), nclient4.WithTimeout(2*time.Second), nclient4.WithRetry(3))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		lease, err := c.Request(rctx, dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
			dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC)))
		rcancel()
		c.Close()
		if err != nil {
			t.Fatalf("%s: DORA: %v", tt.mac, err)
		}
		if got := lease.ACK.YourIPAddr.String(); got != tt.wantIP || lease.ACK.BootFileName != tt.file {
			t.Errorf("%s: ACK %s file %q; want %s file %q", tt.mac, got, lease.ACK.BootFileName, tt.wantIP, tt.file)
		}
	}
}
