package cpinventory_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/pxe/cpinventory"
	"github.com/vela-appliance/vela/pxe/pxetest"
)

// hv1's reservation; the test's HTTP client speaks from it, as hv1 would.
const hv1Addr = "10.98.0.50"

// TestDay2BootFailover runs three members on one boot bridge. Only the
// leader serves network boot; when it stops, another member takes over
// within seconds, serves the same machine with the same boot token (it is
// replicated), records discovered machines into the same table and
// renders configs; the old leader's address serves nothing any more. A
// pool lease m1 gave (to a DHCP client on a veth) is kept by the next
// leader, through the replicated state.
func TestDay2BootFailover(t *testing.T) {
	if os.Getenv(inNS) == "" {
		runInNamespace(t, "TestDay2BootFailover", []string{"10.98.0.2/24", "10.98.0.3/24", "10.98.0.4/24", hv1Addr + "/24"}, 0)
		return
	}
	dir := t.TempDir()
	initrd := filepath.Join(dir, "initramfs")
	pxetest.WriteFile(t, initrd, "not booted in this test", 0o644)
	ctx := context.Background()
	m1 := startMember(t, dir, "m1", "10.98.0.2", "", "")
	c := adminClient(t, dir, m1.api)
	members := []*testMember{m1}
	for i, id := range []string{"m2", "m3"} {
		tok, err := c.JoinToken(ctx, "member", "10m")
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, startMember(t, dir, id, fmt.Sprintf("10.98.0.%d", 3+i), m1.api, tok.Token))
	}
	loaded, _, diags := config.Parse("day2.yaml", []byte(fmt.Sprintf(day2Config, pxetest.Kernel(), initrd)))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	yaml, err := cpinventory.PortableConfig(loaded, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutInstallConfig(ctx, yaml); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AdmitMachine(ctx, api.AdmitRequest{Name: "hv1", MAC: admittedMAC, Address: hv1Addr}); err != nil {
		t.Fatal(err)
	}

	serving := waitServing(t, members)
	if serving != m1 {
		t.Fatalf("%s serves boot, want the leader m1", serving.id)
	}
	tok1 := bootToken(t, "10.98.0.2")
	for _, m := range members[1:] {
		if m.l.find(map[string]string{"msg": "boot services running"}) != nil {
			t.Errorf("follower %s runs the boot services too", m.id)
		}
	}
	// A pool lease from m1, saved in the replicated state.
	cl0 := newPoolClient(t, "cl0", "02:00:00:98:00:a0")
	ip0 := cl0.lease(t)
	poll(t, "m1 saving the pool lease", 10*time.Second, m1.l, func() bool {
		return m1.l.find(map[string]string{"msg": "pool leases saved", "put": "1"}) != nil
	})

	began := time.Now()
	m1.stop() // hands leadership over, stops its boot services
	next := waitServing(t, members[1:])
	t.Logf("boot services moved from m1 to %s in %.1f s", next.id, time.Since(began).Seconds())
	ip := map[string]string{"m2": "10.98.0.3", "m3": "10.98.0.4"}[next.id]
	if tok2 := bootToken(t, ip); tok2 != tok1 {
		t.Errorf("hv1's boot token changed with the leader: %s then %s", tok1, tok2)
	}
	if _, err := http.Get("http://10.98.0.2/boot.ipxe"); err == nil {
		t.Error("the old leader's address still serves boot")
	}
	// The next leader keeps m1's lease: another client gets another
	// address, and cl0 gets its own back.
	if next.l.find(map[string]string{"msg": "pool leases loaded", "leases": "1"}) == nil {
		t.Errorf("%s did not load the saved pool lease", next.id)
	}
	if ip1 := newPoolClient(t, "cl1", "02:00:00:98:00:a1").lease(t); ip1 == ip0 {
		t.Errorf("%s leased %s, held by cl0 since m1 led, to another client", next.id, ip0)
	}
	if again := cl0.lease(t); again != ip0 {
		t.Errorf("cl0 got %s from %s, want its lease %s", again, next.id, ip0)
	}
	cfg := get(t, fmt.Sprintf("http://%s/ignition/%s?token=%s", ip, admittedMAC, tok1), 200)
	if !strings.Contains(cfg, `"ignition"`) || !strings.Contains(cfg, "vjoin.") {
		t.Errorf("hv1's config from %s: %.200s", next.id, cfg)
	}
	get(t, fmt.Sprintf("http://%s/boot.ipxe?mac=%s", ip, unknownMAC), 200)
	c2 := adminClient(t, dir, next.api)
	poll(t, "the unknown MAC in the replicated discovered table", 10*time.Second, next.l, func() bool {
		ds, err := c2.DiscoveredMachines(ctx)
		return err == nil && len(ds) == 1 && ds[0].MAC == unknownMAC && ds[0].By == next.id
	})
}

// waitServing waits until one of members logs that its boot services run.
func waitServing(t *testing.T, members []*testMember) *testMember {
	t.Helper()
	var found *testMember
	poll(t, "a member serving boot", 20*time.Second, members[0].l, func() bool {
		for _, m := range members {
			if m.l.find(map[string]string{"msg": "boot services running"}) != nil {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

var scriptToken = regexp.MustCompile(`token=([0-9a-f]+)`)

// bootToken fetches hv1's iPXE script from ip and returns its boot token.
func bootToken(t *testing.T, ip string) string {
	t.Helper()
	s := get(t, fmt.Sprintf("http://%s/boot.ipxe?mac=%s", ip, admittedMAC), 200)
	m := scriptToken.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("hv1's script from %s has no token:\n%s", ip, s)
	}
	return m[1]
}

// get fetches url from hv1's address and checks the status.
func get(t *testing.T, url string, want int) string {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(hv1Addr)}, Timeout: 5 * time.Second}
	cl := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 20 * time.Second}
	defer cl.CloseIdleConnections()
	res, err := cl.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("GET %s: HTTP %d, want %d: %s", url, res.StatusCode, want, b)
	}
	return string(b)
}
