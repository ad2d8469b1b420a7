package client

import (
	"os"
	"path/filepath"
	"testing"
)

// TestResolvePrecedence: for each of server, token and CA, flags beat the
// environment, which beats the one stored place (named profile, VELA_CONFIG
// context, current profile, ~/.vela/config.json, in that order).
func TestResolvePrecedence(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	write := func(p, s string) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFlag := write(filepath.Join(dir, "ca-flag.pem"), "CA-FLAG")
	caEnv := write(filepath.Join(dir, "ca-env.pem"), "CA-ENV")
	caCtx := write(filepath.Join(dir, "ca-ctx.pem"), "CA-CTX")
	caProf := write(filepath.Join(dir, "ca-prof.pem"), "CA-PROF-FILE")
	tokFlag := write(filepath.Join(dir, "tok-flag"), "tok-flag\n")
	tokCtx := write(filepath.Join(dir, "tok-ctx"), "tok-ctx\n")
	installerCtx := filepath.Join(dir, "installer", "config.json")
	if err := WriteContext(installerCtx, Context{Server: "https://ctx:8443", CAFile: caCtx, TokenFile: tokCtx}); err != nil {
		t.Fatal(err)
	}
	if err := WriteContext(filepath.Join(home, ".vela", "config.json"), Context{Server: "https://legacy:8443", CAFile: caCtx, TokenFile: tokCtx}); err != nil {
		t.Fatal(err)
	}
	withProfiles := filepath.Join(dir, "xdg-profiles")
	ps := &Profiles{Profiles: map[string]*Profile{}}
	ps.Put("other", Profile{Server: "https://other:8443", Token: "tok-other", CAFile: caProf})
	ps.Put("lab", Profile{Server: "https://lab:8443", Token: "tok-lab", CAPEM: "CA-PROF"})
	if err := ps.Save(filepath.Join(withProfiles, "vela", "config.yaml")); err != nil {
		t.Fatal(err)
	}
	noCurrent := filepath.Join(dir, "xdg-nocurrent")
	ps.Current = ""
	if err := ps.Save(filepath.Join(noCurrent, "vela", "config.yaml")); err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(dir, "xdg-damaged")
	write(filepath.Join(damaged, "vela", "config.yaml"), "profiles: [\n")
	empty := filepath.Join(dir, "xdg-empty")

	type want struct{ server, token, ca string }
	tests := []struct {
		name  string
		flags Flags
		env   map[string]string
		want  want
		err   bool
	}{
		{"flags only", Flags{Server: "https://f:8443", TokenFile: tokFlag, CAFile: caFlag}, map[string]string{"XDG_CONFIG_HOME": empty},
			want{"https://f:8443", "tok-flag", "CA-FLAG"}, false},
		{"env only", Flags{}, map[string]string{"XDG_CONFIG_HOME": empty, EnvURL: "https://e:8443", EnvToken: "tok-env", EnvCA: caEnv},
			want{"https://e:8443", "tok-env", "CA-ENV"}, false},
		{"VELA_SERVER still read", Flags{}, map[string]string{"XDG_CONFIG_HOME": empty, EnvServer: "https://old:8443", EnvToken: "t", EnvCA: caEnv},
			want{"https://old:8443", "t", "CA-ENV"}, false},
		{"VELA_URL beats VELA_SERVER", Flags{}, map[string]string{"XDG_CONFIG_HOME": empty, EnvURL: "https://new:8443", EnvServer: "https://old:8443", EnvToken: "t", EnvCA: caEnv},
			want{"https://new:8443", "t", "CA-ENV"}, false},
		{"flags beat env", Flags{Server: "https://f:8443", TokenFile: tokFlag, CAFile: caFlag}, map[string]string{"XDG_CONFIG_HOME": withProfiles, EnvURL: "https://e:8443", EnvToken: "tok-env", EnvCA: caEnv},
			want{"https://f:8443", "tok-flag", "CA-FLAG"}, false},
		{"current profile", Flags{}, map[string]string{"XDG_CONFIG_HOME": withProfiles},
			want{"https://lab:8443", "tok-lab", "CA-PROF"}, false},
		{"env beats the profile, field by field", Flags{}, map[string]string{"XDG_CONFIG_HOME": withProfiles, EnvToken: "tok-env"},
			want{"https://lab:8443", "tok-env", "CA-PROF"}, false},
		{"flag beats the profile", Flags{Server: "https://f:8443"}, map[string]string{"XDG_CONFIG_HOME": withProfiles},
			want{"https://f:8443", "tok-lab", "CA-PROF"}, false},
		{"--profile picks another", Flags{Profile: "other"}, map[string]string{"XDG_CONFIG_HOME": withProfiles},
			want{"https://other:8443", "tok-other", "CA-PROF-FILE"}, false},
		{"VELA_PROFILE picks another", Flags{}, map[string]string{"XDG_CONFIG_HOME": withProfiles, EnvProfile: "other"},
			want{"https://other:8443", "tok-other", "CA-PROF-FILE"}, false},
		{"--profile beats VELA_PROFILE", Flags{Profile: "lab"}, map[string]string{"XDG_CONFIG_HOME": withProfiles, EnvProfile: "other"},
			want{"https://lab:8443", "tok-lab", "CA-PROF"}, false},
		{"unknown profile", Flags{Profile: "nope"}, map[string]string{"XDG_CONFIG_HOME": withProfiles}, want{}, true},
		{"named profile beats VELA_CONFIG", Flags{Profile: "other"}, map[string]string{"XDG_CONFIG_HOME": withProfiles, EnvConfig: installerCtx},
			want{"https://other:8443", "tok-other", "CA-PROF-FILE"}, false},
		{"VELA_CONFIG beats the current profile", Flags{}, map[string]string{"XDG_CONFIG_HOME": withProfiles, EnvConfig: installerCtx},
			want{"https://ctx:8443", "tok-ctx", "CA-CTX"}, false},
		{"env beats VELA_CONFIG", Flags{}, map[string]string{"XDG_CONFIG_HOME": empty, EnvConfig: installerCtx, EnvURL: "https://e:8443", EnvToken: "tok-env"},
			want{"https://e:8443", "tok-env", "CA-CTX"}, false},
		{"no current profile: legacy context", Flags{}, map[string]string{"XDG_CONFIG_HOME": noCurrent},
			want{"https://legacy:8443", "tok-ctx", "CA-CTX"}, false},
		{"no profile file: legacy context", Flags{}, map[string]string{"XDG_CONFIG_HOME": empty},
			want{"https://legacy:8443", "tok-ctx", "CA-CTX"}, false},
		{"VELA_CONFIG names a missing file", Flags{}, map[string]string{"XDG_CONFIG_HOME": empty, EnvConfig: filepath.Join(dir, "none.json")}, want{}, true},
		{"damaged profile file", Flags{}, map[string]string{"XDG_CONFIG_HOME": damaged}, want{}, true},
		{"damaged file unread when flags say all", Flags{Server: "https://f:8443", TokenFile: tokFlag, CAFile: caFlag}, map[string]string{"XDG_CONFIG_HOME": damaged},
			want{"https://f:8443", "tok-flag", "CA-FLAG"}, false},
		{"no ca anywhere", Flags{Server: "https://f:8443"}, map[string]string{"XDG_CONFIG_HOME": empty, EnvConfig: filepath.Join(dir, "none.json")}, want{}, true},
		{"missing token file", Flags{Server: "https://f:8443", TokenFile: filepath.Join(dir, "nope"), CAFile: caFlag}, nil, want{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", home)
			for _, k := range []string{"XDG_CONFIG_HOME", EnvURL, EnvServer, EnvToken, EnvCA, EnvConfig, EnvProfile} {
				t.Setenv(k, tt.env[k])
			}
			cfg, err := ResolveFlags(tt.flags)
			if (err != nil) != tt.err {
				t.Fatalf("err %v, want error %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if got := (want{cfg.Server, cfg.Token, string(cfg.CAPEM)}); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestProfilesFile: the file and its directory are private, a round trip
// keeps every field, and a removed current profile leaves none current.
func TestProfilesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vela", "config.yaml")
	ps, err := LoadProfiles(path)
	if err != nil || len(ps.Profiles) != 0 {
		t.Fatalf("missing file: %v %+v", err, ps)
	}
	ps.Put("a", Profile{Server: "https://a:8443", Token: "ta", CAPEM: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n", Tenant: "acme", Kind: "tenant"})
	ps.Put("b", Profile{Server: "https://b:8443", Token: "tb", CAFile: "/ca.pem"})
	if err := ps.Save(path); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v, want mode %v", p, err, want)
		}
	}
	got, err := LoadProfiles(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Current != "b" || *got.Profiles["a"] != *ps.Profiles["a"] || *got.Profiles["b"] != *ps.Profiles["b"] {
		t.Errorf("round trip: %+v", got)
	}
	if err := got.Remove("b"); err != nil || got.Current != "" {
		t.Errorf("remove current: %v, current %q", err, got.Current)
	}
	if err := got.Remove("zz"); err == nil {
		t.Error("removing an unknown profile succeeded")
	}
	for _, bad := range []string{"profiles: {x: {token: t}}\n", "colour: red\n", "profiles: [\n"} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadProfiles(path); err == nil {
			t.Errorf("%q loaded", bad)
		}
	}
}
