package discovery

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/vela-appliance/vela/installer/config"
)

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestListenerRecordsPXEClient runs the real proxy DHCP server on loopback
// and sends it a PXE DHCPDISCOVER as a booting machine's firmware would: the
// machine is recorded and nothing is answered.
func TestListenerRecordsPXEClient(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("needs root (binds the DHCP socket to an interface)")
		}
		t.Skip("needs root (binds the DHCP socket to an interface); runs in CI")
	}
	port := freeUDPPort(t)
	c := &config.Config{Network: config.Network{Interface: "lo", Address: "127.0.0.1/8", Ports: config.Ports{HTTP: 80}}}
	ctx, cancel := context.WithCancel(context.Background())
	l, err := Start(ctx, Config{Install: c, Port: port})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := l.Wait(); err != nil {
			t.Errorf("listener stopped with %v", err)
		}
	})

	mac := net.HardwareAddr{0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc}
	req, err := dhcpv4.NewDiscovery(mac,
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC)))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for len(l.Seen()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the PXE client was not recorded within 5s")
		}
		if _, err := conn.Write(req.ToBytes()); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		buf := make([]byte, 1500)
		if n, err := conn.Read(buf); err == nil {
			t.Fatalf("discovery answered a PXE client (%d bytes); it must stay silent", n)
		}
	}
	got := l.Seen()
	if len(got) != 1 || got[0].MAC != mac.String() || got[0].Arch == "" || got[0].FirstSeen.IsZero() {
		t.Fatalf("seen %+v, want %s with its architecture", got, mac)
	}
}

func TestStartRefusesBadAddress(t *testing.T) {
	c := &config.Config{Network: config.Network{Interface: "lo", Address: "not-an-address"}}
	if _, err := Start(context.Background(), Config{Install: c, Port: 1}); err == nil {
		t.Fatal("started with a bad address")
	}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("needs root (makes a bridge and binds DHCP to it)")
	}
	t.Skip("needs root (makes a bridge and binds DHCP to it); runs in CI")
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %v: %v\n%s", args, err, out)
	}
}

// TestListenerOnBridge is discovery as the wizard runs it: on a boot bridge
// (made here, with a veth port), a machine's firmware broadcasting a PXE
// DHCPDISCOVER from 0.0.0.0:68 in a raw frame.
func TestListenerOnBridge(t *testing.T) {
	needRoot(t)
	n := os.Getpid() % 100000
	br, port, peer := fmt.Sprintf("vdisbr%d", n), fmt.Sprintf("vdisa%d", n), fmt.Sprintf("vdisb%d", n)
	ip(t, "link", "add", br, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", br).Run() })
	ip(t, "link", "add", port, "type", "veth", "peer", "name", peer)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", port).Run() })
	ip(t, "link", "set", port, "master", br)
	for _, l := range []string{br, port, peer} {
		ip(t, "link", "set", l, "up")
	}
	c := &config.Config{Network: config.Network{Interface: br, Address: "10.77.0.1/24", Ports: config.Ports{DHCP: 67, HTTP: 80}}}
	ctx, cancel := context.WithCancel(context.Background())
	l, err := Start(ctx, Config{Install: c})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = l.Wait() })

	mac := net.HardwareAddr{0x52, 0x54, 0x00, 0xd1, 0x5c, 0x01}
	req, err := dhcpv4.NewDiscovery(mac,
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00007:UNDI:003016")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64)))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := nclient4.NewRawUDPConn(peer, 68)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for len(l.Seen()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the PXE client on the bridge was not recorded within 5s")
		}
		if _, err := conn.WriteTo(req.ToBytes(), &net.UDPAddr{IP: net.IPv4bcast, Port: 67}); err != nil {
			t.Fatal(err)
		}
		<-tick.C
	}
	if got := l.Seen(); len(got) != 1 || got[0].MAC != mac.String() || got[0].Arch == "" {
		t.Fatalf("seen %+v, want %s (UEFI)", got, mac)
	}
}

func TestMissingInterface(t *testing.T) {
	c := &config.Config{Network: config.Network{Interface: "vela-nonexist", Address: "10.77.0.1/24"}, Lab: &config.Lab{}}
	_, err := Start(context.Background(), Config{Install: c, Port: 1})
	if err == nil || !strings.Contains(err.Error(), "the install creates the lab bridge") {
		t.Fatalf("err = %v, want a missing lab bridge explained", err)
	}
}
