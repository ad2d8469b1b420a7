package node

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testSpec() Spec {
	return Spec{Name: "acme-web-1", Tenant: "acme", Address: netip.MustParsePrefix("10.20.0.10/24"),
		Gateway: netip.MustParseAddr("10.20.0.1"), Bridge: "vt-12345678"}.WithDefaults()
}

func TestDomainXMLGolden(t *testing.T) {
	priv := testSpec()
	priv.Privileged = true
	for name, s := range map[string]Spec{"unprivileged": testSpec(), "privileged": priv} {
		t.Run(name, func(t *testing.T) {
			got, err := DomainXML(s, Paths{Root: "/var/lib/vela/agent/nodes/acme-web-1/rootfs",
				Disk: "/var/lib/vela/agent/nodes/acme-web-1/disk", Tools: "/var/lib/vela/agent/nodes/.tools"})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".xml")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
		})
	}
}

func TestSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Spec)
		want   string
	}{
		{"ok", func(*Spec) {}, ""},
		{"bad name", func(s *Spec) { s.Name = "Web_1" }, "must be a DNS label"},
		{"no tenant", func(s *Spec) { s.Tenant = "" }, "no tenant"},
		{"tiny memory", func(s *Spec) { s.MemoryBytes = 1 << 20 }, "below 64 MiB"},
		{"no cpu", func(s *Spec) { s.VCPUs = -1 }, "at least 1 vCPU"},
		{"ipv6", func(s *Spec) { s.Address = netip.MustParsePrefix("fd00::5/64") }, "not an IPv4 prefix"},
		{"gateway outside", func(s *Spec) { s.Gateway = netip.MustParseAddr("10.99.0.1") }, "must be another address in 10.20.0.0/24"},
		{"long bridge", func(s *Spec) { s.Bridge = "a-very-long-bridge-name" }, "1 to 15 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSpec()
			tc.change(&s)
			err := s.Validate()
			if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestEscaping(t *testing.T) {
	s := testSpec()
	s.Tenant = "a<b>&'c"
	got, err := DomainXML(s, Paths{Root: "/r", Disk: "/d", Tools: "/t"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "a<b>") || !strings.Contains(got, "a&lt;b&gt;&amp;&#39;c") {
		t.Errorf("tenant not escaped in:\n%s", got)
	}
}

func TestBridgeName(t *testing.T) {
	a, b := BridgeName("acme"), BridgeName("beta")
	if a == b || len(a) > 15 || !strings.HasPrefix(a, BridgePrefix) || a != BridgeName("acme") {
		t.Errorf("BridgeName: %q %q", a, b)
	}
}

func TestIsNSInit(t *testing.T) {
	for in, want := range map[string]bool{
		"Name:\tsh\nNSpid:\t4242\t1\n": true,
		"Name:\tsh\nNSpid:\t4242\t7\n": false,
		"Name:\tsh\nNSpid:\t1\n":       false,
		"Name:\tsh\n":                  false,
	} {
		if got := isNSInit([]byte(in)); got != want {
			t.Errorf("isNSInit(%q) = %v, want %v", in, got, want)
		}
	}
}
