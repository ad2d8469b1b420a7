package ignition

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/installer/config"
)

// TestTokensStayWithTheirMachine renders every machine of both variants and
// checks each config holds its own token and no other machine's.
func TestTokensStayWithTheirMachine(t *testing.T) {
	for _, image := range []string{config.ImageVelaOS, config.ImageFCOS} {
		cfg := loadTestConfig(t, image)
		out := map[string][]byte{}
		for _, m := range cfg.Machines {
			b, err := Render(testInput(t, cfg, m.Name))
			if err != nil {
				t.Fatal(err)
			}
			out[m.Name] = b
		}
		for name, b := range out {
			for other := range out {
				has := bytes.Contains(b, []byte(testToken(other)))
				if has != (name == other) {
					t.Errorf("%s: config of %s contains the token of %s: %v", image, name, other, has)
				}
			}
		}
	}
}

func TestRedact(t *testing.T) {
	cfg := loadTestConfig(t, config.ImageVelaOS)
	in := testInput(t, cfg, "both1")
	b, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Redact(b)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(r, []byte(in.JoinToken)) || bytes.Contains(r, []byte(in.AgentToken)) {
		t.Fatalf("redacted config still holds the token")
	}
	if !bytes.Contains(r, []byte(Redacted)) {
		t.Fatalf("redacted config does not say %s", Redacted)
	}
	if err := Validate(r); err != nil {
		t.Fatalf("redacted config is not valid: %v", err)
	}
	// Everything but the token is unchanged.
	if got, want := strings.Replace(string(r), Redacted, "", 2), strings.NewReplacer("data:,"+in.JoinToken, "", "data:,"+in.AgentToken, "").Replace(string(b)); got != want {
		t.Errorf("redaction changed more than the token: %s", cmp.Diff(want, got))
	}
}

func TestRenderAllWritesPrivateFiles(t *testing.T) {
	cfg := loadTestConfig(t, config.ImageFCOS)
	dir := filepath.Join(t.TempDir(), "ign")
	tokens := map[string]string{}
	for _, m := range cfg.Machines {
		tokens[m.Name] = testToken(m.Name)
		tokens[AgentTokenKey(m.Name)] = testToken(m.Name + "-agent")
	}
	in := testInput(t, cfg, "")
	if err := RenderAll(dir, in, tokens); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(cfg.Machines) {
		t.Fatalf("%d files in %s, want %d (no temporary files left)", len(entries), dir, len(cfg.Machines))
	}
	for _, m := range cfg.Machines {
		p := filepath.Join(dir, FileName(m.Name))
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, st.Mode().Perm())
		}
		b, _ := os.ReadFile(p)
		if err := Validate(b); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	// A machine without a token fails the whole batch and writes nothing.
	dir2 := filepath.Join(t.TempDir(), "ign")
	delete(tokens, "hyper1")
	if err := RenderAll(dir2, in, tokens); err == nil || !strings.Contains(err.Error(), `"hyper1"`) {
		t.Fatalf("RenderAll without hyper1's token: err = %v", err)
	}
	if _, err := os.Stat(dir2); !os.IsNotExist(err) {
		t.Errorf("RenderAll wrote %s after failing", dir2)
	}
}

// TestBadInput: what Render refuses, and that the message names the machine.
func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Input)
		want   string
	}{
		{"unknown machine", func(in *Input) { in.Machine = "nope" }, `machine "nope" is not in the install config`},
		{"name not a hostname", func(in *Input) { in.Config.Machines[1].Name = "Both_1"; in.Machine = "Both_1" }, "not a valid hostname"},
		{"unknown image", func(in *Input) { in.Config.OS.Image = "windows" }, "has no Vela template"},
		{"bad hash", func(in *Input) { in.VelaSHA512 = "abc" }, "not a hex sha512"},
		{"no token", func(in *Input) { in.JoinToken = "" }, "join token is missing"},
		{"token with spaces", func(in *Input) { in.JoinToken = "a token with spaces in it" }, "malformed"},
		{"CA key instead of cert", func(in *Input) {
			in.CACert = append(in.CACert, "-----BEGIN EC PRIVATE KEY-----\nx\n-----END EC PRIVATE KEY-----\n"...)
		}, "holds a private key"},
		{"not PEM", func(in *Input) { in.CACert = []byte("hello") }, "not a PEM certificate"},
		{"boot url", func(in *Input) { in.BootURL = "10.20.0.1" }, "not http://ADDR:PORT"},
		{"bootstrap member on DHCP", func(in *Input) { in.Config.Machines[0].Address = config.AddressDHCP }, `first member "member1" takes a DHCP address`},
		{"huge snippet", func(in *Input) {
			in.Config.Butane = []config.Snippet{{Name: "huge", Inline: "variant: fcos\nversion: 1.6.0\n#" + strings.Repeat("x", MaxSnippetSize)}}
		}, "the limit is 256 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := testInput(t, loadTestConfig(t, config.ImageVelaOS), "both1")
			tc.change(&in)
			_, err := Render(in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// The rule that the bootstrap member needs a static address when others must
// find it lives in config.Validate; a lone DHCP machine renders.
func TestSingleDHCPMachineRenders(t *testing.T) {
	cfg := loadTestConfig(t, config.ImageVelaOS)
	cfg.Machines[0].Address = config.AddressDHCP
	cfg.Machines = cfg.Machines[:1] // alone, it needs nobody to find it
	cfg.Machines[0].Role = config.RoleBoth
	if diags := Check(cfg, nil, "testdata"); len(diags) != 0 {
		t.Fatalf("single DHCP machine: %v", diags)
	}
	if _, err := Render(testInput(t, cfg, cfg.Machines[0].Name)); err != nil {
		t.Fatalf("single DHCP machine does not render: %v", err)
	}
}
