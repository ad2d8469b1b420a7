package dhcp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/vela-appliance/vela/pxe"
	"github.com/vela-appliance/vela/pxe/pxetest"
)

// memStore is a LeaseStore in memory that counts its batches.
type memStore struct {
	mu      sync.Mutex
	leases  map[string]Lease
	batches int
	fail    error
}

func (m *memStore) LoadLeases(context.Context) ([]Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Lease
	for _, l := range m.leases {
		out = append(out, l)
	}
	return out, nil
}

func (m *memStore) SaveLeases(_ context.Context, put []Lease, del []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.batches++
	for _, l := range put {
		m.leases[l.MAC] = l
	}
	for _, mac := range del {
		delete(m.leases, mac)
	}
	return nil
}

func (m *memStore) state() (int, map[string]Lease) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]Lease{}
	for k, v := range m.leases {
		out[k] = v
	}
	return m.batches, out
}

// newStoreFix is a full-mode server over store, on a clock the test moves.
func newStoreFix(t *testing.T, store LeaseStore, now *time.Time) *Server {
	t.Helper()
	inv := &pxetest.Inventory{Machines: []pxe.Machine{{Name: "m2", MAC: macDynamic.String()}}}
	s, err := New(Config{Mode: ModeFull, ServerIP: netip.MustParseAddr("10.0.0.1"), Subnet: netip.MustParsePrefix("10.0.0.0/24"),
		PoolFirst: netip.MustParseAddr("10.0.0.100"), PoolLast: netip.MustParseAddr("10.0.0.109"), LeaseTime: time.Hour,
		HTTPBase: "http://10.0.0.1:8080", Inventory: inv, StateDir: t.TempDir(), Leases: store, Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func request(t *testing.T, s *Server, mac net.HardwareAddr, ip string) string {
	t.Helper()
	r := s.Handle(context.Background(), pkt{mac: mac, mt: dhcpv4.MessageTypeRequest, reqIP: ip}.build(t), 67)
	if r == nil {
		return "no reply"
	}
	return r.MessageType().String() + " " + r.YourIPAddr.String()
}

// TestLeaseStore: pool leases go to the store in batches, renewals only
// when they push the expiry past the saved one by more than half the lease
// time, and a second server (the next leader) starting from the store
// keeps them: it hands the address to nobody else and holds it for half a
// lease past the saved expiry.
func TestLeaseStore(t *testing.T) {
	ctx := context.Background()
	store := &memStore{leases: map[string]Lease{}}
	now := t0
	s := newStoreFix(t, store, &now)
	unknown := macUnknown.String()

	s.Handle(ctx, pkt{mac: macUnknown, mt: dhcpv4.MessageTypeDiscover}.build(t), 67)
	s.syncLeases(ctx)
	if n, _ := store.state(); n != 0 {
		t.Fatalf("an offer was saved (%d batches); only bound leases are", n)
	}
	if got := request(t, s, macUnknown, "10.0.0.100"); got != "ACK 10.0.0.100" {
		t.Fatalf("request = %s", got)
	}
	s.syncLeases(ctx)
	s.syncLeases(ctx) // nothing new: no batch
	n, saved := store.state()
	if n != 1 || saved[unknown].IP.String() != "10.0.0.100" || !saved[unknown].Expiry.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after binding: %d batches, %+v", n, saved)
	}

	for i, want := range []int{1, 2, 2, 3} { // renewals at half-life: every other one is saved
		now = t0.Add(time.Duration(i+1) * 30 * time.Minute)
		if got := request(t, s, macUnknown, "10.0.0.100"); got != "ACK 10.0.0.100" {
			t.Fatalf("renewal %d = %s", i+1, got)
		}
		s.syncLeases(ctx)
		if n, _ := store.state(); n != want {
			t.Errorf("after renewal %d: %d batches, want %d", i+1, n, want)
		}
	}
	_, saved = store.state()
	savedExp := saved[unknown].Expiry // t0+3h; the real expiry is t0+3h
	real := now.Add(time.Hour)

	// Failover: the next leader starts from the store.
	g := newStoreFix(t, store, &now)
	if a, ok := g.LeaseIP(unknown); !ok || a.String() != "10.0.0.100" {
		t.Errorf("next leader: LeaseIP = %v %v, want 10.0.0.100", a, ok)
	}
	if r := g.Handle(ctx, pkt{mac: macDynamic, mt: dhcpv4.MessageTypeDiscover}.build(t), 67); r == nil || r.YourIPAddr.String() != "10.0.0.101" {
		t.Errorf("next leader offered a new client %v, want 10.0.0.101 (10.0.0.100 is leased)", summarize(r))
	}
	if got := request(t, g, macDynamic, "10.0.0.100"); got != "NAK 0.0.0.0" {
		t.Errorf("another MAC requesting the leased address: %s, want NAK", got)
	}
	if savedExp.Add(30 * time.Minute).Before(real) {
		t.Fatalf("the grace (%s past %s) does not cover the real expiry %s", 30*time.Minute, savedExp, real)
	}
	now = real.Add(-time.Second)
	if _, ok := g.LeaseIP(unknown); !ok {
		t.Error("the loaded lease was not held for half a lease past its saved expiry")
	}
	if got := request(t, g, macUnknown, "10.0.0.100"); got != "ACK 10.0.0.100" {
		t.Errorf("the client renewing at the next leader: %s", got)
	}

	// A release is saved as a delete; a failed batch is retried whole.
	store.fail = errors.New("not the leader")
	rel, _ := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeRelease), dhcpv4.WithHwAddr(macUnknown), dhcpv4.WithClientIP(net.ParseIP("10.0.0.100")))
	g.Handle(ctx, rel, 67)
	g.syncLeases(ctx)
	if _, saved := store.state(); saved[unknown].MAC == "" {
		t.Fatal("a failed batch changed the store")
	}
	store.fail = nil
	g.syncLeases(ctx)
	if _, saved := store.state(); len(saved) != 0 {
		t.Errorf("after release and retry, store = %+v, want it empty", saved)
	}
	if put, del := g.leases.changes(); len(put)+len(del) != 0 {
		t.Errorf("left unsaved: %v %v", put, del)
	}
}
