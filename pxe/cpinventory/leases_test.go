package cpinventory_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"

	"github.com/vela-appliance/vela/pxe/internal/netnstest"
)

// poolClient is a DHCP client on its own veth plugged into br0 (inside the
// test's namespace, which takes the links with it when it goes).
type poolClient struct {
	iface string
	mac   net.HardwareAddr
}

// newPoolClient makes veth IFACE (MAC mac) with its peer IFACEp on br0.
func newPoolClient(t *testing.T, iface, mac string) *poolClient {
	t.Helper()
	hw, err := net.ParseMAC(mac)
	if err != nil {
		t.Fatal(err)
	}
	netnstest.IP(t, "link", "add", iface, "address", mac, "type", "veth", "peer", "name", iface+"p")
	netnstest.IP(t, "link", "set", iface+"p", "master", "br0", "up")
	netnstest.IP(t, "link", "set", iface, "up")
	return &poolClient{iface: iface, mac: hw}
}

// lease runs DISCOVER/OFFER/REQUEST/ACK and returns the address leased.
func (c *poolClient) lease(t *testing.T) string {
	t.Helper()
	cl, err := nclient4.New(c.iface, nclient4.WithHWAddr(c.mac), nclient4.WithTimeout(2*time.Second), nclient4.WithRetry(5))
	if err != nil {
		t.Fatalf("DHCP client on %s: %v", c.iface, err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, err := cl.Request(ctx)
	if err != nil {
		t.Fatalf("DHCP lease for %s on %s: %v", c.mac, c.iface, err)
	}
	return l.ACK.YourIPAddr.String()
}
