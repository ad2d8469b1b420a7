package httpboot

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vela-appliance/vela/pxe"
	"github.com/vela-appliance/vela/pxe/pxetest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	mac1 = "52:54:00:aa:00:01"
	mac2 = "52:54:00:aa:00:02"
	mac3 = "52:54:00:aa:00:03"
)

type fixture struct {
	srv    *Server
	inv    *pxetest.Inventory
	states *pxetest.States
	reg    *prometheus.Registry
	dir    string
	leases map[string]netip.Addr
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	kernel := make([]byte, 1<<20)
	for i := range kernel {
		kernel[i] = byte(i * 7)
	}
	img := Image{Kernel: write("kernel", kernel), Initramfs: write("initramfs", []byte("initramfs")), Rootfs: write("rootfs", []byte("rootfs"))}
	os.Mkdir(filepath.Join(dir, "ign"), 0o700)
	write("ign/m1.ign", []byte(`{"ignition":{"version":"3.4.0"},"m":"m1"}`))
	write("ign/m2.ign", []byte(`{"ignition":{"version":"3.4.0"},"m":"m2"}`))
	f := &fixture{
		inv: &pxetest.Inventory{Machines: []pxe.Machine{
			{Name: "m1", MAC: mac1, Image: "vela-os", KernelArgs: "console=ttyS0,115200", Disk: "/dev/vda"},
			{Name: "m2", MAC: mac2, Image: "fcos", Disk: "/dev/sda"},
			{Name: "m3", MAC: mac3, Image: "custom"},
		}},
		states: &pxetest.States{}, reg: prometheus.NewRegistry(), dir: dir, leases: map[string]netip.Addr{},
	}
	toks, err := NewTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{
		Inventory: f.inv, Tokens: toks, BaseURL: "http://10.0.0.1:8080",
		Images:      map[string]Image{"vela-os": img, "fcos": img, "custom": {Kernel: img.Kernel, Initramfs: img.Initramfs}},
		IgnitionDir: filepath.Join(dir, "ign"), SecretsDir: filepath.Join(dir, "secrets"), VelaBinary: img.Kernel,
		LeaseIP: func(mac string) (netip.Addr, bool) { a, ok := f.leases[mac]; return a, ok },
		OnState: f.states.Record, Registerer: f.reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	return f
}

func (f *fixture) do(method, target, remote, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if remote == "" {
		remote = "10.0.0.50"
	}
	r.RemoteAddr = remote + ":40000"
	w := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(w, r)
	return w
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

// hideToken hides the random tokens in golden files.
func hideToken(s string) string {
	return tokenRE.ReplaceAllString(s, "token=TOKEN")
}

var tokenRE = regexp.MustCompile(`token=[0-9a-f]+`)

func TestScripts(t *testing.T) {
	f := newFixture(t)
	tests := []struct{ golden, target string }{
		{"chain.ipxe", "/boot.ipxe"},
		{"vela-os.ipxe", "/boot.ipxe?mac=52-54-00-AA-00-01"},
		{"fcos-install.ipxe", "/boot.ipxe?mac=" + mac2},
		{"custom-no-rootfs.ipxe", "/boot.ipxe?mac=" + mac3},
		{"unknown.ipxe", "/boot.ipxe?mac=52:54:00:ff:00:01&uuid=ABCD&arch=i386"},
	}
	for _, tt := range tests {
		w := f.do("GET", tt.target, "", "")
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", tt.target, w.Code, w.Body)
		}
		golden(t, tt.golden, []byte(hideToken(w.Body.String())))
	}
	f.inv.Installed = []string{"m1"}
	golden(t, "disk.ipxe", f.do("GET", "/boot.ipxe?mac="+mac1, "", "").Body.Bytes())
	if w := f.do("GET", "/boot.ipxe?mac=zz", "", ""); w.Code != 400 {
		t.Errorf("bad mac: %d, want 400", w.Code)
	}
	want := []pxe.Client{{MAC: "52:54:00:ff:00:01", UUID: "abcd", Arch: "i386", IP: "10.0.0.50"}}
	if diff := cmp.Diff(want, f.inv.Discovered); diff != "" {
		t.Errorf("discovered (-want +got):\n%s", diff)
	}
}

func tokenOf(t *testing.T, f *fixture, mac string) string {
	t.Helper()
	body := f.do("GET", "/boot.ipxe?mac="+mac, "", "").Body.String()
	i := strings.Index(body, "/ignition/"+mac+"?token=")
	if i < 0 {
		t.Fatalf("no ignition URL in script:\n%s", body)
	}
	return strings.Fields(body[i+len("/ignition/"+mac+"?token="):])[0]
}

func TestIgnitionOnlyToItsMachine(t *testing.T) {
	f := newFixture(t)
	tok1, tok2 := tokenOf(t, f, mac1), tokenOf(t, f, mac2)
	f.leases[mac1] = netip.MustParseAddr("10.0.0.50")
	tests := []struct {
		name, target, remote string
		code                 int
		body                 string
	}{
		{"right token", "/ignition/" + mac1 + "?token=" + tok1, "", 200, `"m":"m1"`},
		{"hyphen MAC", "/ignition/52-54-00-aa-00-01?token=" + tok1, "", 200, `"m":"m1"`},
		{"no token", "/ignition/" + mac1, "", 403, "token"},
		{"wrong token", "/ignition/" + mac1 + "?token=" + strings.Repeat("0", 48), "", 403, "token"},
		{"other machine's token", "/ignition/" + mac1 + "?token=" + tok2, "", 403, "token"},
		{"other machine's MAC", "/ignition/" + mac2 + "?token=" + tok1, "", 403, "token"},
		{"not the lease holder", "/ignition/" + mac1 + "?token=" + tok1, "10.0.0.99", 403, "lease"},
		{"unknown MAC", "/ignition/52:54:00:ff:00:01?token=" + tok1, "", 403, "unknown"},
		{"bad MAC", "/ignition/..%2f..%2fetc?token=" + tok1, "", 400, "bad mac"},
	}
	for _, tt := range tests {
		w := f.do("GET", tt.target, tt.remote, "")
		if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.body) {
			t.Errorf("%s: %d %q; want %d containing %q", tt.name, w.Code, w.Body, tt.code, tt.body)
		}
	}
	if strings.Contains(f.do("GET", "/ignition/"+mac2+"?token="+tok2, "", "").Body.String(), `"m1"`) {
		t.Error("m2 got m1's config")
	}
	st, _ := os.Stat(filepath.Join(f.dir, TokensFile))
	if st == nil || st.Mode().Perm() != 0o600 {
		t.Errorf("tokens file: %v, want mode 0600", st)
	}
}

func TestReportAndStates(t *testing.T) {
	f := newFixture(t)
	tok := tokenOf(t, f, mac1)
	f.do("GET", "/images/vela-os/kernel?mac="+mac1, "", "")
	f.do("GET", "/ignition/"+mac1+"?token="+tok, "", "")
	for _, tt := range []struct {
		target, body string
		code         int
	}{
		{"/report/" + mac1 + "?token=" + tok, `{"state":"booted","detail":"up"}`, 204},
		{"/report/" + mac1 + "?token=" + tok, `{"state":"exploded"}`, 400},
		{"/report/" + mac1 + "?token=" + tok, `{"state":"booted","extra":1}`, 400},
		{"/report/" + mac1 + "?token=bad", `{"state":"booted"}`, 403},
		{"/report/" + mac1 + "?token=" + tok, `{"state":"failed","detail":"disk"}`, 204},
		{"/report/" + mac1 + "?token=" + tok, `{"state":"installed","detail":"/dev/vda"}`, 204},
	} {
		if w := f.do("POST", tt.target, "", tt.body); w.Code != tt.code {
			t.Errorf("POST %s %s: %d %s, want %d", tt.target, tt.body, w.Code, w.Body, tt.code)
		}
	}
	want := []string{
		"m1 " + mac1 + " ipxe-loaded", "m1 " + mac1 + " kernel-fetched", "m1 " + mac1 + " config-fetched",
		"m1 " + mac1 + " reported", "m1 " + mac1 + " failed", "m1 " + mac1 + " reported",
	}
	if diff := cmp.Diff(want, f.states.Snapshot()); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"m1", "m1"}, f.inv.Installed); diff != "" {
		t.Errorf("installed (-want +got):\n%s", diff)
	}
}

func TestRangeAndMetrics(t *testing.T) {
	f := newFixture(t)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	want, _ := os.ReadFile(filepath.Join(f.dir, "kernel"))
	req, _ := http.NewRequest("GET", ts.URL+"/images/vela-os/kernel", nil)
	req.Header.Set("Range", "bytes=1000-200999")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || !bytes.Equal(got, want[1000:201000]) {
		t.Errorf("range: %d, %d bytes; want 206 with bytes 1000-200999", resp.StatusCode, len(got))
	}
	for _, p := range []string{"/images/vela-os/kernel", "/vela/vela"} {
		resp, err = http.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		got, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, want the %d of the file", p, len(got), len(want))
		}
	}
	for _, p := range []string{"/images/custom/rootfs", "/images/nope/kernel", "/images/vela-os/..%2fkernel", "/images/vela-os/passwd"} {
		if resp, _ := http.Get(ts.URL + p); resp.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
	resp, err = http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, s := range []string{
		`vela_pxe_http_requests_total{code="206",route="image"} 1`,
		`vela_pxe_http_bytes_total{route="vela"} 1.048576e+06`,
		`vela_pxe_http_errors_total{route="image"} 4`,
	} {
		if !strings.Contains(string(m), s) {
			t.Errorf("metrics lack %s", s)
		}
	}
}

func FuzzParseReport(f *testing.F) {
	f.Add([]byte(`{"state":"booted","detail":"x"}`))
	f.Add([]byte(`{"state":"failed"}`))
	f.Add([]byte(`{"state":"installed","detail":"/dev/sda"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := ParseReport(bytes.NewReader(b))
		if err == nil && rep.State != "booted" && rep.State != "installed" && rep.State != "failed" {
			t.Fatalf("accepted state %q", rep.State)
		}
		if len(rep.Detail) > 4096 {
			t.Fatalf("detail of %d bytes kept", len(rep.Detail))
		}
	})
}
