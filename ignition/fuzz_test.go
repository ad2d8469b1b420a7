package ignition

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/vela-appliance/vela/installer/config"
)

// FuzzRender: any install config that `vela config validate` accepts (the
// config validator and Check) renders, for every machine, to a config that
// passes Ignition's validator and holds no other machine's token.
func FuzzRender(f *testing.F) {
	for _, p := range []string{filepath.Join("testdata", "rack.yaml"), filepath.Join("..", "installer", "config", "examples", "rack.yaml"),
		filepath.Join("..", "installer", "config", "examples", "lab.yaml")} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(bytes.Replace(b, []byte("image: vela-os"), []byte("image: fcos"), 1))
	}
	ca, err := os.ReadFile(filepath.Join("testdata", "ca.pem"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Each machine costs a Butane translation and a validation (tens of
		// ms): bound the work per input so the fuzzer never sits on one input
		// past -fuzztime (which go test reports as "context deadline exceeded").
		if len(data) > 16<<10 {
			return
		}
		cfg, src, diags := config.Parse("fuzz.yaml", data)
		if cfg == nil || diags.HasErrors() || len(cfg.Machines) > 5 || len(cfg.Butane) > 2 {
			return
		}
		dir := t.TempDir()
		if Check(cfg, src, dir).HasErrors() {
			return
		}
		out := map[string][]byte{}
		for _, m := range cfg.Machines {
			b, err := Render(Input{Config: cfg, BaseDir: dir, Machine: m.Name, BootURL: "http://10.0.0.1:80",
				VelaSHA512: testHash(), CACert: ca, JoinToken: testToken(m.Name), AgentToken: testToken(m.Name + "-agent")})
			if err != nil {
				t.Fatalf("valid config, but machine %q does not render: %v", m.Name, err)
			}
			if err := Validate(b); err != nil {
				t.Fatalf("machine %q: %v", m.Name, err)
			}
			out[m.Name] = b
		}
		for name, b := range out {
			for other := range out {
				if other != name && bytes.Contains(b, []byte(testToken(other))) {
					t.Fatalf("config of %q holds the token of %q", name, other)
				}
			}
		}
	})
}
