package cpinventory

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
)

// fakeCluster is the control plane without Raft: a real FSM that applies
// each proposal at the next index. Fail, when set, fails every proposal.
type fakeCluster struct {
	mu       sync.Mutex
	f        *fsm.FSM
	index    uint64
	Proposed []fsm.Type
	Fail     error
}

func newFakeCluster(t testing.TB) *fakeCluster {
	c := &fakeCluster{f: fsm.New(fsm.Config{})}
	ca, err := pki.GenerateCA("test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c.apply(t, fsm.TypeClusterInit, fsm.Upsert[fsm.ClusterInfo]{Meta: fsm.Meta{Actor: "test"}, Object: fsm.ClusterInfo{ID: "c1", CACert: string(ca.CertPEM)}})
	return c
}

func (c *fakeCluster) View(fn func(*fsm.State)) { c.f.View(fn) }

func (c *fakeCluster) Propose(_ context.Context, t fsm.Type, body any) (fsm.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Fail != nil {
		return fsm.Result{}, c.Fail
	}
	b, err := fsm.Encode(t, body)
	if err != nil {
		return fsm.Result{}, err
	}
	c.index++
	c.Proposed = append(c.Proposed, t)
	res := c.f.ApplyEntry(c.index, b)
	return res, res.Err
}

func (c *fakeCluster) apply(t testing.TB, typ fsm.Type, body any) {
	t.Helper()
	if _, err := c.Propose(context.Background(), typ, body); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.Proposed = nil
	c.mu.Unlock()
}

func (c *fakeCluster) count(typ fsm.Type) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, p := range c.Proposed {
		if p == typ {
			n++
		}
	}
	return n
}

func (c *fakeCluster) machine(name string) (m fsm.Machine) {
	c.f.View(func(s *fsm.State) { m = s.Machines[name] })
	return m
}

const testYAML = `version: 1
network:
  interface: eno1
  address: 192.168.50.2/24
  dhcp:
    mode: proxy
ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1NOqE8kG/C3vLkR8a2j9qPB01m5DdJ+dYeJj2u0cjr op@x"]
machines:
  - {name: a, uuid: 4c4c4544-0042-3510-8052-b4c04f4e4a31, role: member, address: 192.168.50.10}
  - {name: b, mac: "0c:c4:7a:00:00:02", role: hypervisor, disk: /dev/disk/by-id/wwn-0x5000}
discovery: {mode: admit, role: hypervisor}
`

var t0 = time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)

// newTestInventory is an inventory over a cluster holding testYAML and
// its machines, run by member "a" with a clock the test moves; opts
// change the inventory's config.
func newTestInventory(t testing.TB, opts ...func(*Config)) (*Inventory, *fakeCluster, *time.Time) {
	c := newFakeCluster(t)
	c.apply(t, fsm.TypeInstallConfigPut, fsm.PutInstallConfig{Meta: fsm.Meta{Actor: "admin", Time: t0}, Config: fsm.InstallConfig{YAML: testYAML},
		Machines: []fsm.Machine{
			{Name: "a", UUID: "4c4c4544-0042-3510-8052-b4c04f4e4a31", Role: "member", Address: "192.168.50.10", State: fsm.MachineReported, BootToken: "tok-a"},
			{Name: "b", MAC: "0c:c4:7a:00:00:02", Role: "hypervisor", Disk: "/dev/disk/by-id/wwn-0x5000", State: fsm.MachineInstalled, BootToken: "tok-b"},
		}})
	now := t0
	cfg := Config{Cluster: c, Member: "a", BootURL: "http://192.168.50.10:80", BootAddress: netip.MustParsePrefix("192.168.50.10/24"),
		VelaSHA512: strings.Repeat("ab", 64), Now: func() time.Time { return now }}
	for _, o := range opts {
		o(&cfg)
	}
	inv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return inv, c, &now
}

var errBroken = errors.New("raft is down")
