package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vela-appliance/vela/cluster/fsm"
)

// TestLoginProfiles: login checks the token and stores a private profile
// that every API command then uses; --profile, VELA_PROFILE and the
// environment override it; logout removes it.
func TestLoginProfiles(t *testing.T) {
	apiServer(t)
	server, caFile, admin := os.Getenv("VELA_SERVER"), os.Getenv("VELA_CA"), os.Getenv("VELA_TOKEN")
	for _, k := range []string{"VELA_SERVER", "VELA_CA", "VELA_TOKEN", "VELA_URL", "VELA_PROFILE", "VELA_CONFIG"} {
		t.Setenv(k, "")
	}
	xdg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", xdg)
	run := func(want int, args ...string) string { t.Helper(); return velaExit(t, want, args...) }
	if out := run(1, "tenants", "ls"); !strings.Contains(out, "vela login") {
		t.Errorf("no profile, no flags: %s", out)
	}
	if out := run(1, "login", "https://"+server, "--token", "vapi.bad.token", "--ca-file", caFile); !strings.Contains(out, "(HTTP 401)") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("login with a bad token: %q", out)
	}
	if out := run(0, "login", "https://"+server, "--token", admin, "--ca-file", caFile); !strings.Contains(out, `profile "admin" is current`) {
		t.Errorf("login: %s", out)
	}
	path := filepath.Join(xdg, "vela", "config.yaml")
	for p, mode := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: %v, want mode %v", p, err, mode)
		}
	}
	run(0, "tenants", "create", "acme")
	tok := strings.TrimSpace(strings.SplitN(run(0, "tokens", "create", "--tenant", "acme"), "\n", 2)[0])
	if out := run(0, "login", server, "--token", tok, "--ca-file", caFile, "--embed-ca=false"); !strings.Contains(out, `profile "acme" is current`) {
		t.Errorf("tenant login: %s", out)
	}
	run(0, "cluster", "create", "web")
	if out := run(1, "tenants", "ls"); !strings.Contains(out, "403") {
		t.Errorf("a tenant profile listing tenants: %s", out)
	}
	if out := run(0, "tenants", "ls", "--profile", "admin"); !strings.Contains(out, "acme") {
		t.Errorf("--profile admin: %s", out)
	}
	t.Setenv("VELA_PROFILE", "admin")
	run(0, "tenants", "ls")
	t.Setenv("VELA_TOKEN", tok) // the environment beats the profile
	run(1, "tenants", "ls")
	t.Setenv("VELA_TOKEN", "")
	t.Setenv("VELA_PROFILE", "")
	if out := run(1, "cluster", "ls", "--profile", "nope"); !strings.Contains(out, `no profile "nope"`) {
		t.Errorf("unknown profile: %s", out)
	}

	out := run(0, "profiles", "ls")
	for _, want := range []string{"*        acme", "admin", "embedded", caFile} {
		if !strings.Contains(out, want) {
			t.Errorf("profiles ls lacks %q:\n%s", want, out)
		}
	}
	b, _ := os.ReadFile(path)
	if js := run(0, "profiles", "ls", "-o", "json"); strings.Contains(js, tok) || strings.Contains(js, admin) || !strings.Contains(string(b), tok) {
		t.Errorf("profiles ls shows a token, or the file lacks it:\n%s", js)
	}
	run(0, "profiles", "use", "admin")
	run(0, "tenants", "ls")
	run(1, "profiles", "use", "nope")
	if out := run(0, "logout"); !strings.Contains(out, `profile "admin" removed`) {
		t.Errorf("logout: %s", out)
	}
	run(1, "tenants", "ls")
	run(0, "logout", "--profile", "acme")
	if out := run(0, "profiles", "ls"); !strings.Contains(out, "no profiles") {
		t.Errorf("after logout: %s", out)
	}
}

// TestOutputEverywhere: every list/get command takes -o table|json|yaml
// (and text, the older spelling of table) and refuses anything else before
// calling the API.
func TestOutputEverywhere(t *testing.T) {
	apply, _ := apiServer(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	apply(fsm.TypeTenantUpsert, fsm.Upsert[fsm.Tenant]{Object: fsm.Tenant{Name: "acme"}})
	cmds := [][]string{
		{"members", "ls"}, {"hypervisors", "ls"}, {"tenants", "ls"}, {"tokens", "ls"}, {"quotas", "get", "acme"},
		{"cluster", "ls"}, {"machines", "ls"}, {"profiles", "ls"},
	}
	for _, c := range cmds {
		for _, o := range []string{"table", "text", "json", "yaml", "xml"} {
			args := append(append([]string{}, c...), "-o", o)
			out, errs, code := vela(t, "", args...)
			if o == "xml" {
				if code == 0 || !strings.Contains(errs, "want table, json or yaml") {
					t.Errorf("vela %s: exit %d %s", strings.Join(args, " "), code, errs)
				}
				continue
			}
			if code != 0 {
				t.Errorf("vela %s: exit %d %s", strings.Join(args, " "), code, errs)
				continue
			}
			var v any
			switch o {
			case "json":
				if err := json.Unmarshal([]byte(out), &v); err != nil {
					t.Errorf("vela %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			case "yaml":
				if err := yaml.Unmarshal([]byte(out), &v); err != nil || v == nil {
					t.Errorf("vela %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
		}
	}
}
