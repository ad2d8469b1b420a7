package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite golden files")

// render prints diagnostics the way `vela config validate` does, with the
// file name reduced to its base so golden files do not depend on the checkout.
func render(ds Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		d.File = filepath.Base(d.File)
		b.WriteString(d.Error())
		b.WriteByte('\n')
	}
	return b.String()
}

func golden(t *testing.T, path, got string) {
	t.Helper()
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
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestInvalidFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) < 30 {
		t.Fatalf("only %d invalid fixtures", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			_, _, diags := Load(f)
			got := render(diags)
			golden(t, strings.TrimSuffix(f, ".yaml")+".golden", got)
			if strings.HasSuffix(f, "-warning.yaml") {
				if diags.HasErrors() || len(diags.Warnings()) == 0 {
					t.Errorf("want warnings only, got:\n%s", got)
				}
				return
			}
			if !diags.HasErrors() {
				t.Errorf("want errors, got none:\n%s", got)
			}
			for _, d := range diags {
				if d.File == "" || d.Msg == "" {
					t.Errorf("diagnostic without file or message: %#v", d)
				}
				if d.Severity == Error && d.Hint == "" && d.Pos.Line == 0 {
					t.Errorf("error with neither position nor hint: %s", d.Error())
				}
			}
		})
	}
}

func TestValidFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, _, diags := Load(f)
			if diags.HasErrors() || cfg == nil {
				t.Fatalf("want valid, got:\n%s", render(diags))
			}
			// Defaults are idempotent and a defaulted config stays valid.
			again := *cfg
			ApplyDefaults(&again)
			if diff := cmp.Diff(cfg, &again); diff != "" {
				t.Errorf("ApplyDefaults is not idempotent:\n%s", diff)
			}
			if ds := Validate(&again, nil); ds.HasErrors() {
				t.Errorf("revalidation without a source failed:\n%s", render(ds))
			}
		})
	}
}

func TestExamplesValidateAndMatchRepository(t *testing.T) {
	for _, lab := range []bool{false, true} {
		_, _, diags := Parse("example", Example(lab))
		if diags.HasErrors() {
			t.Errorf("example (lab=%v) does not validate:\n%s", lab, render(diags))
		}
	}
	// examples/lab.yaml in the repository is what `vela config example --lab` prints.
	repo, err := os.ReadFile("../../examples/lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(repo, Example(true)) {
		t.Error("examples/lab.yaml differs from installer/config/examples/lab.yaml; copy it over")
	}
}

func TestLabExpansion(t *testing.T) {
	cfg, _, diags := Parse("lab", Example(true))
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	var got []string
	for _, m := range cfg.Machines {
		got = append(got, m.Name+" "+m.MAC+" "+m.Role+" "+m.Address)
	}
	want := []string{
		"lab-1 52:54:00:56:4c:01 both 10.77.0.11",
		"lab-2 52:54:00:56:4c:02 both 10.77.0.12",
		"lab-3 52:54:00:56:4c:03 both 10.77.0.13",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	if cfg.Network.Interface != "vela-lab0" || cfg.ControlPlane.Members != 3 {
		t.Errorf("interface %q members %d", cfg.Network.Interface, cfg.ControlPlane.Members)
	}
}

func TestTooLarge(t *testing.T) {
	data := bytes.Repeat([]byte("# padding padding padding\n"), 10<<20/26)
	_, _, diags := Parse("big.yaml", data)
	if len(diags) != 1 || !strings.Contains(diags[0].Error(), "larger than 1024 KiB") {
		t.Errorf("got %v", diags)
	}
}

func TestAllErrorsAtOnce(t *testing.T) {
	_, _, diags := Load("testdata/invalid/machines.yaml")
	if n := len(diags.Errors()); n < 12 {
		t.Errorf("want every problem reported, got %d:\n%s", n, render(diags))
	}
}

func TestParseByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ByteSize
		ok   bool
	}{
		{"4GiB", 4 << 30, true}, {"512MiB", 512 << 20, true}, {"2GB", 2e9, true},
		{"1024", 1024, true}, {" 3 GiB ", 3 << 30, true}, {"lots", 0, false},
		{"-1GiB", 0, false}, {"99999999999TiB", 0, false}, {"", 0, false},
	} {
		got, err := ParseByteSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseByteSize(%q) = %v, %v", tc.in, got, err)
		}
	}
	if s := ByteSize(4 << 30).String(); s != "4GiB" {
		t.Errorf("String = %s", s)
	}
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"10.0.0.1-10.0.0.9", true}, {"10.0.0.1 - 10.0.0.1", true}, {"10.0.0.9-10.0.0.1", false},
		{"10.0.0.1", false}, {"::1-::2", false}, {"a-b", false},
	} {
		if _, err := ParseRange(tc.in); (err == nil) != tc.ok {
			t.Errorf("ParseRange(%q): %v", tc.in, err)
		}
	}
}

func TestDiagnosticsFor(t *testing.T) {
	_, _, diags := Load("testdata/invalid/machines.yaml")
	for _, d := range diags.For("machines[2]") {
		if !strings.HasPrefix(d.Path, "machines[2]") {
			t.Errorf("For returned %s", d.Path)
		}
	}
	if len(diags.For("machines[2]")) < 3 {
		t.Errorf("want machines[2]'s problems, got %v", diags.For("machines[2]"))
	}
}

// TestSchemaAcceptsExamples checks that the JSON Schema and the loader agree
// on the examples and rejects an unknown key, as editors will see it.
func TestSchemaAcceptsExamples(t *testing.T) {
	raw, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	toJSON := func(y []byte) any {
		var v any
		if err := yaml.Unmarshal(y, &v); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		out, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		return out
	}
	for _, lab := range []bool{false, true} {
		if err := sch.Validate(toJSON(Example(lab))); err != nil {
			t.Errorf("schema rejects example (lab=%v): %v", lab, err)
		}
	}
	if err := sch.Validate(toJSON([]byte("version: 1\nnetwork: {address: 10.0.0.1/24}\ncolour: blue\n"))); err == nil {
		t.Error("schema accepts an unknown key")
	}
}

// FuzzParse: the loader never panics, always names the file, and whatever it
// accepts stays accepted when defaulted and validated again.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.yaml")
	for _, s := range seeds {
		b, _ := os.ReadFile(s)
		f.Add(b)
	}
	f.Add([]byte("version: 1\nx: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, _, diags := Parse("f.yaml", data)
		for _, d := range diags {
			if d.File != "f.yaml" || d.Msg == "" {
				t.Fatalf("bad diagnostic %#v", d)
			}
		}
		if cfg != nil && !diags.HasErrors() {
			ApplyDefaults(cfg)
			if ds := Validate(cfg, nil); ds.HasErrors() {
				t.Fatalf("accepted config fails revalidation: %v", ds)
			}
		}
	})
}

func TestReferenceDocIsCurrent(t *testing.T) {
	golden(t, "../../docs/install-config.md", Reference())
}
