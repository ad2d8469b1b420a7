package wizard

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/installer/preflight"
	"github.com/vela-appliance/vela/tui"
)

var update = flag.Bool("update", false, "rewrite the golden frames under testdata/")

// fakeHost has one uplink with the default route and one boot NIC.
type fakeHost struct{}

func (fakeHost) Interfaces() ([]Interface, error) {
	return []Interface{
		{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("192.168.1.20/24")}, DefaultRoute: true, Up: true},
		{Name: "eth1", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/24")}, Up: true},
	}, nil
}

// fakeDiscoverer returns a fixed list of found machines.
type fakeDiscoverer struct{ found []Found }

func (f *fakeDiscoverer) Seen() []Found { return f.found }

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl op@seed"

func testConfig(d Discoverer) Config {
	return Config{
		Host:   fakeHost{},
		Styles: tui.NewStyles(tui.NewRenderer(io.Discard, true)),
		Plain:  true,
		Preflight: func(*config.Config) []preflight.Result {
			return []preflight.Result{{Check: "root", OK: true, Msg: "running as root"},
				{Check: "port DHCP", Msg: "udp port 67 is in use", Fix: "stop the other DHCP server"}}
		},
		Discover: func(context.Context, *config.Config) (Discoverer, error) {
			if d == nil {
				return nil, fmt.Errorf("no boot network in tests")
			}
			return d, nil
		},
	}
}

func newDriver(t *testing.T, d Discoverer) *driver {
	t.Helper()
	dr := &driver{m: New(testConfig(d))}
	dr.run(dr.m.Init())
	dr.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	return dr
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("frame %s differs (-want +got):\n%s", name, diff)
	}
}

func TestPrefillFromHost(t *testing.T) {
	ifs, _ := fakeHost{}.Interfaces()
	a := Prefill(ifs)
	got := []string{a.Interface, a.Address, a.DHCPMode, a.Pool}
	if diff := cmp.Diff([]string{"eth0", "192.168.1.20/24", "proxy", "192.168.1.100-192.168.1.199"}, got); diff != "" {
		t.Errorf("prefill (-want +got):\n%s", diff)
	}
}

// TestFieldErrorsComeFromTheValidator: a field's error is the validator's
// diagnostic for that path, word for word.
func TestFieldErrorsComeFromTheValidator(t *testing.T) {
	a := Prefill(nil)
	a.Interface = "eth1"
	for _, c := range []struct{ path, value string }{
		{"network.address", "10.0.0.0/24"},
		{"network.address", "bogus"},
		{"network.dhcp.pool", "10.0.0.1-10.0.0.50"},
		{"name", "Not A Label"},
	} {
		var q question
		for _, s := range []int{ScreenTarget, ScreenNetwork} {
			for _, x := range questions(s, nil) {
				if x.path == c.path {
					q = x
				}
			}
		}
		b := a
		b.Address, b.DHCPMode = "10.0.0.1/24", config.DHCPFull
		err := checkValue(b, q, c.value)
		*q.get(&b) = c.value
		want := config.Validate(b.Defaulted(), nil).Errors().For(c.path)
		if err == nil || len(want) == 0 || !strings.Contains(err.Error(), want[0].Msg) {
			t.Errorf("%s=%q: field error %v, validator says %v", c.path, c.value, err, want)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	a := labDefaults(Prefill(nil))
	a.Target = TargetLab
	a.SSHKeys = testKey
	a.Tenant, a.Cluster, a.Nodes = "demo", "demo", "3"
	c := a.Config()
	c.Lab.Count = 3
	config.ApplyDefaults(c)
	a.Machines = c.Machines
	b, err := Marshal(a.Config())
	if err != nil {
		t.Fatal(err)
	}
	got, _, diags := config.Parse("wizard.yaml", b)
	if diags.HasErrors() {
		t.Fatalf("saved YAML does not validate:\n%s\n%s", diags, b)
	}
	want := a.Defaulted()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-answers +loaded):\n%s\n%s", diff, b)
	}
}

// TestWizardLab drives the whole wizard with keys for a lab config with one
// discovered machine, saves it, and loads the file back.
func TestWizardLab(t *testing.T) {
	t.Parallel()
	disc := &fakeDiscoverer{found: []Found{{MAC: "52:54:00:aa:bb:cc", Arch: "bios", FirstSeen: time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)}}}
	d := newDriver(t, disc)
	m := d.m
	frames := map[string]string{"welcome": m.View()}
	d.keys("enter") // welcome -> target
	if m.Screen() != ScreenTarget {
		t.Fatalf("screen %d after enter on welcome", m.Screen())
	}
	frames["target"] = m.View()
	d.keys("down", "enter") // lab
	d.keys("enter")         // name
	if m.Screen() != ScreenNetwork {
		t.Fatalf("screen %d, want network; answers %+v\n%s", m.Screen(), m.Answers(), m.View())
	}
	frames["network"] = m.View()
	// esc goes back without losing answers, then forward again.
	d.keys("esc")
	if m.Screen() != ScreenTarget || m.Answers().Target != TargetLab {
		t.Fatalf("esc: screen %d target %q", m.Screen(), m.Answers().Target)
	}
	d.keys("enter", "enter")
	for i := 0; i < 8 && m.Screen() == ScreenNetwork; i++ {
		d.keys("enter")
	}
	if m.Screen() != ScreenOS {
		t.Fatalf("screen %d, want OS:\n%s", m.Screen(), m.View())
	}
	frames["os"] = m.View()
	for i := 0; i < 4 && m.Screen() == ScreenOS; i++ {
		d.keys("enter")
	}
	if m.Screen() != ScreenMachines {
		t.Fatalf("screen %d, want machines:\n%s", m.Screen(), m.View())
	}
	d.send(foundMsg(disc.found))
	frames["machines"] = m.View()
	// lab-1..3 are pre-filled; the discovered machine becomes a hypervisor.
	d.keys("down", "down", "down", "h")
	if n := len(m.Answers().Machines); n != 4 {
		t.Fatalf("%d machines after adopting the discovered one, want 4:\n%s", n, m.View())
	}
	d.keys("enter")
	if m.Screen() != ScreenSSH {
		t.Fatalf("screen %d, want SSH:\n%s", m.Screen(), m.View())
	}
	frames["ssh"] = m.View()
	d.typeText(testKey)
	d.keys("tab", "enter")
	for i := 0; i < 3 && m.Screen() == ScreenSSH; i++ {
		d.keys("enter")
	}
	if m.Screen() != ScreenPeople {
		t.Fatalf("screen %d, want people:\n%s", m.Screen(), m.View())
	}
	frames["people"] = m.View()
	d.keys("enter")
	d.typeText("demo")
	d.keys("enter")
	d.typeText("web")
	d.keys("enter")
	d.typeText("2")
	d.keys("enter")
	if m.Screen() != ScreenReview {
		t.Fatalf("screen %d, want review:\n%s", m.Screen(), m.View())
	}
	frames["review"] = m.View()
	path := filepath.Join(t.TempDir(), "lab.yaml")
	d.keys("ctrl+u")
	d.typeText(path)
	d.keys("enter")
	if m.Saved != path || !d.quit {
		t.Fatalf("saved=%q quit=%v:\n%s", m.Saved, d.quit, m.View())
	}
	c, _, diags := config.Load(path)
	if diags.HasErrors() {
		t.Fatalf("saved config does not validate:\n%s", diags)
	}
	if c.Lab == nil || len(c.Machines) != 4 || c.Tenant.Cluster == nil || c.Tenant.Cluster.Nodes != 2 || len(c.SSHAuthorizedKeys) != 1 {
		t.Errorf("saved config is not what was answered: %+v", c)
	}
	for name, f := range frames {
		golden(t, name+"-80x24", f)
	}
}

// TestFramesAt120x40 draws each screen in a larger window.
func TestFramesAt120x40(t *testing.T) {
	t.Parallel()
	d := newDriver(t, &fakeDiscoverer{})
	d.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	m := d.m
	for s := ScreenWelcome; s < screenCount; s++ {
		if s > ScreenWelcome {
			d.run(m.enter(s))
		}
		golden(t, fmt.Sprintf("screen%d-120x40", s), m.View())
		for i, l := range strings.Split(m.View(), "\n") {
			if len([]rune(l)) > 120 || i >= 40 {
				t.Errorf("screen %d line %d outside 120x40", s, i+1)
			}
		}
	}
}

func TestMachineRulesFromValidator(t *testing.T) {
	t.Parallel()
	d := newDriver(t, nil)
	m := d.m
	m.a.Target = TargetRack
	m.a.Interface, m.a.Address, m.a.DHCPMode, m.a.Pool = "eth1", "10.0.0.1/24", config.DHCPFull, "10.0.0.100-10.0.0.199"
	d.run(m.enter(ScreenMachines))
	// Two members: the validator says the count must be odd.
	m.a.Machines = []config.Machine{
		{Name: "a", MAC: "52:54:00:00:00:01", Role: config.RoleMember, Address: "10.0.0.11"},
		{Name: "b", MAC: "52:54:00:00:00:02", Role: config.RoleMember, Address: config.AddressDHCP},
	}
	d.keys("enter")
	if m.Screen() != ScreenMachines || !strings.Contains(m.View(), "2 members") {
		t.Fatalf("an even member count moved on, or was not explained:\n%s", m.View())
	}
	d.keys("down", "h", "enter")
	if m.Screen() != ScreenSSH {
		t.Fatalf("one member and one hypervisor did not pass:\n%s", m.View())
	}
}

func TestQuitWithoutSaving(t *testing.T) {
	t.Parallel()
	d := newDriver(t, nil)
	d.keys("enter", "ctrl+c")
	if !d.quit || !d.m.Aborted || d.m.Saved != "" {
		t.Fatalf("quit=%v aborted=%v saved=%q", d.quit, d.m.Aborted, d.m.Saved)
	}
}

func TestHelpKey(t *testing.T) {
	t.Parallel()
	d := newDriver(t, nil)
	d.keys("?")
	if !strings.Contains(d.m.View(), "back one screen") {
		t.Fatalf("? showed no help:\n%s", d.m.View())
	}
	d.keys("?")
	if strings.Contains(d.m.View(), "back one screen") {
		t.Fatal("? did not close the help")
	}
}

// TestMachineFormShowsValidatorError: a bad MAC typed in the add form is
// refused with the validator's message for machines[i].mac.
func TestMachineFormShowsValidatorError(t *testing.T) {
	t.Parallel()
	d := newDriver(t, nil)
	m := d.m
	m.a.Interface, m.a.Address, m.a.DHCPMode, m.a.Pool = "eth1", "10.0.0.1/24", config.DHCPFull, "10.0.0.100-10.0.0.199"
	d.run(m.enter(ScreenMachines))
	d.keys("a")
	d.typeText("52:54:00:12:34")
	d.keys("enter")
	if !strings.Contains(m.View(), `machines[0].mac: "52:54:00:12:34" is not a MAC address`) {
		t.Fatalf("the form did not show the validator's error:\n%s", m.View())
	}
	d.typeText(":56")
	d.keys("enter")
	d.typeText("node1")
	d.keys("enter", "enter", "enter", "enter")
	if got := m.Answers().Machines; len(got) != 1 || got[0].MAC != "52:54:00:12:34:56" || got[0].Name != "node1" {
		t.Fatalf("machines after the form: %+v\n%s", got, m.View())
	}
	if m.mach.editing() {
		t.Fatalf("the form is still open:\n%s", m.View())
	}
}

// TestResize: every screen stays inside the window as it changes size.
func TestResize(t *testing.T) {
	t.Parallel()
	d := newDriver(t, &fakeDiscoverer{})
	m := d.m
	for s := ScreenWelcome; s < screenCount; s++ {
		if s > ScreenWelcome {
			d.run(m.enter(s))
		}
		for _, size := range [][2]int{{80, 24}, {60, 20}, {132, 43}, {80, 24}} {
			d.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			lines := strings.Split(m.View(), "\n")
			if len(lines) > size[1] {
				t.Errorf("screen %d at %dx%d: %d lines", s, size[0], size[1], len(lines))
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w > size[0] {
					t.Errorf("screen %d at %dx%d: line %d is %d wide", s, size[0], size[1], i+1, w)
				}
			}
		}
	}
}
