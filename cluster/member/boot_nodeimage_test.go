package member

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
	"github.com/vela-appliance/vela/ignition"
	"github.com/vela-appliance/vela/pxe"
	"github.com/vela-appliance/vela/pxe/cpinventory"
)

// fsmCluster is cpinventory's view of a member without Raft: a real FSM
// applying each proposal at the next index.
type fsmCluster struct {
	mu    sync.Mutex
	f     *fsm.FSM
	index uint64
}

func (c *fsmCluster) View(fn func(*fsm.State)) { c.f.View(fn) }

func (c *fsmCluster) Propose(_ context.Context, t fsm.Type, body any) (fsm.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := fsm.Encode(t, body)
	if err != nil {
		return fsm.Result{}, err
	}
	c.index++
	res := c.f.ApplyEntry(c.index, b)
	return res, res.Err
}

const nodeImageTestYAML = `version: 1
network:
  interface: eno1
  address: 192.168.50.2/24
  dhcp: {mode: proxy}
ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1NOqE8kG/C3vLkR8a2j9qPB01m5DdJ+dYeJj2u0cjr op@x"]
machines:
  - {name: a, mac: "0c:c4:7a:00:00:01", role: member, address: 192.168.50.10}
  - {name: b, mac: "0c:c4:7a:00:00:02", role: hypervisor}
discovery: {mode: admit, role: hypervisor}
`

// TestBootNodeImageFlows: the node image a member keeps where its Ignition
// config put it is hashed (sha512) by the boot task's setup and reaches the
// config of a hypervisor admitted on day 2, fetched from this member; a
// member without one renders it without, and warns.
func TestBootNodeImageFlows(t *testing.T) {
	node := []byte("hsqs: the packed node image")
	s := sha512.Sum512(node)
	sum := hex.EncodeToString(s[:])
	for _, tc := range []struct {
		name     string
		haveNode bool
	}{{"member keeps the node image", true}, {"member has none", false}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string][]byte{"vela": []byte("#!/bin/sh\n"), "images/vela-os/current/kernel": []byte("k"),
				"images/vela-os/current/initramfs": []byte("i"), "tftp/undionly.kpxe": []byte("u"), "tftp/snponly.efi": []byte("s")}
			if tc.haveNode {
				files["images/"+ignition.NodeImageFile] = node
			}
			for name, b := range files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			bc := BootConfig{Interface: "auto", ImagesDir: filepath.Join(dir, "images"), TFTPRoot: filepath.Join(dir, "tftp"), VelaBinary: filepath.Join(dir, "vela")}
			h, err := hashBootFiles(bc, "vela-os", &hashMemo{}, log)
			if err != nil {
				t.Fatal(err)
			}
			want := ""
			if tc.haveNode {
				want = sum
			}
			if h.nodeImage != want || h.bootImage == nil {
				t.Fatalf("node image hash %q (want %q), boot image %v", h.nodeImage, want, h.bootImage)
			}
			if warned := strings.Contains(logs.String(), "no node image to serve") && strings.Contains(logs.String(), bc.ImagesDir+"/"+ignition.NodeImageFile); warned == tc.haveNode {
				t.Errorf("warned %v with a node image %v; log:\n%s", warned, tc.haveNode, logs.String())
			}

			cl := newFSMCluster(t)
			inv, err := cpinventory.New(h.inventoryConfig(cl, "a", "http://192.168.50.10:80", netip.MustParsePrefix("192.168.50.10/24"), log))
			if err != nil {
				t.Fatal(err)
			}
			out, err := inv.Config(context.Background(), pxe.Machine{Name: "hv9"})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{`"source":"http://192.168.50.10:80` + ignition.NodeImageURLPath + `"`, `"hash":"sha512-` + sum + `"`} {
				if got := bytes.Contains(out, []byte(w)); got != tc.haveNode {
					t.Errorf("the day-2 hypervisor's config contains %s: %v, want %v", w, got, tc.haveNode)
				}
			}
		})
	}
}

// newFSMCluster holds nodeImageTestYAML and the admitted hypervisor hv9.
func newFSMCluster(t *testing.T) *fsmCluster {
	t.Helper()
	c := &fsmCluster{f: fsm.New(fsm.Config{})}
	ca, err := pki.GenerateCA("test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		t    fsm.Type
		body any
	}{
		{fsm.TypeClusterInit, fsm.Upsert[fsm.ClusterInfo]{Meta: fsm.Meta{Actor: "test"}, Object: fsm.ClusterInfo{ID: "c1", CACert: string(ca.CertPEM)}}},
		{fsm.TypeInstallConfigPut, fsm.PutInstallConfig{Meta: fsm.Meta{Actor: "admin", Time: time.Now()}, Config: fsm.InstallConfig{YAML: nodeImageTestYAML}}},
		{fsm.TypeMachineUpsert, fsm.Upsert[fsm.Machine]{Object: fsm.Machine{Name: "hv9", MAC: "52:54:00:00:00:09", Role: "hypervisor", State: fsm.MachineAdmitted, BootToken: "t"}}},
	} {
		if _, err := c.Propose(context.Background(), p.t, p.body); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// TestHashMemo: the node image is hashed again only when its size or
// modification time changed.
func TestHashMemo(t *testing.T) {
	p := filepath.Join(t.TempDir(), ignition.NodeImageFile)
	write := func(b string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(p, []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	sumOf := func(b string) string { s := sha512.Sum512([]byte(b)); return hex.EncodeToString(s[:]) }
	t1 := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	var m hashMemo
	for _, step := range []struct {
		name, content string
		mod           time.Time
		want          string
	}{
		{"first", "aaaa", t1, sumOf("aaaa")},
		{"same size and time: remembered", "bbbb", t1, sumOf("aaaa")},
		{"new time", "bbbb", t1.Add(time.Second), sumOf("bbbb")},
		{"new size", "ccccc", t1.Add(time.Second), sumOf("ccccc")},
	} {
		write(step.content, step.mod)
		if got, err := m.hash(p); err != nil || got != step.want {
			t.Errorf("%s: %s %v, want %s", step.name, got, err, step.want)
		}
	}
	if _, err := m.hash(p + ".gone"); err == nil {
		t.Error("a missing file hashed")
	}
}
