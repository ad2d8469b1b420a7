package ra

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"

	"github.com/vela-appliance/vela/pxe/internal/netnstest"
)

func TestMessage(t *testing.T) {
	mac, _ := net.ParseMAC("52:54:00:12:34:56")
	want := []byte{134, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x52, 0x54, 0, 0x12, 0x34, 0x56}
	if got := Message(mac); !bytes.Equal(got, want) {
		t.Errorf("Message = %x, want %x", got, want)
	}
}

// TestAdvertises runs the advertiser in one namespace and checks that a host
// in another, over a veth, receives an advertisement answering its
// solicitation: type 134, hop limit 255, no flags, lifetime 0.
func TestAdvertises(t *testing.T) {
	netnstest.Require(t)
	srvNS, cliNS := netnstest.NS(t), netnstest.NS(t)
	netnstest.Veth(t, srvNS, "boot0", "", cliNS, "eth0", "")
	var adv *Advertiser
	if err := netnstest.Do(srvNS, func() (err error) {
		adv, err = New(Config{Interface: "boot0", Interval: time.Hour})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- adv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	var conn *icmp.PacketConn
	var ifi *net.Interface
	if err := netnstest.Do(cliNS, func() (err error) {
		if ifi, err = net.InterfaceByName("eth0"); err != nil {
			return err
		}
		conn, err = icmp.ListenPacket("ip6:ipv6-icmp", "::")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pc := conn.IPv6PacketConn()
	pc.SetControlMessage(ipv6.FlagHopLimit, true)
	pc.SetMulticastHopLimit(255)
	pc.SetMulticastInterface(ifi)
	rs := []byte{133, 0, 0, 0, 0, 0, 0, 0}
	deadline := time.Now().Add(15 * time.Second)
	buf := make([]byte, 1500)
	for time.Now().Before(deadline) {
		// Solicit (the link-local address may still be tentative: retry).
		pc.WriteTo(rs, &ipv6.ControlMessage{HopLimit: 255, IfIndex: ifi.Index}, &net.IPAddr{IP: net.ParseIP("ff02::2"), Zone: "eth0"})
		conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, cm, _, err := pc.ReadFrom(buf)
		if err != nil || n < 16 || buf[0] != 134 {
			continue
		}
		if cm == nil || cm.HopLimit != 255 {
			t.Fatalf("advertisement hop limit %v, want 255", cm)
		}
		if buf[5] != 0 || buf[6] != 0 || buf[7] != 0 {
			t.Fatalf("advertisement flags/lifetime %x, want zero", buf[5:8])
		}
		return
	}
	t.Fatal("no router advertisement received within 15 s")
}
