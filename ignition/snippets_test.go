package ignition

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/installer/config"
)

// writeConfig writes rack.yaml with extra text appended (a butane: section)
// into a temporary directory and loads it.
func writeConfig(t *testing.T, butane string, files map[string]string) (*config.Config, *config.Source, string) {
	t.Helper()
	dir := t.TempDir()
	base, err := os.ReadFile(filepath.Join("testdata", "rack.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(base)
	text = text[:strings.Index(text, "butane:")] + butane
	path := filepath.Join(dir, "rack.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, src, diags := config.Load(path)
	if diags.HasErrors() {
		t.Fatalf("config does not validate:\n%v", diags)
	}
	return cfg, src, dir
}

// lineIn returns the 1-based line of the first line of the file containing s.
func lineIn(t *testing.T, file, s string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%q not in %s", s, file)
	return 0
}

type wantDiag struct {
	Path   string
	InFile string // "" for the install config, else the snippet file's base name
	Line   string // text of the line the diagnostic must point at
	Col    int    // expected column, 0 to ignore
	Msg    string // substring of the message
}

func TestCheckSnippets(t *testing.T) {
	huge := strings.Repeat("x", MaxSnippetSize+1)
	for _, tc := range []struct {
		name   string
		butane string
		files  map[string]string
		want   []wantDiag
	}{
		{name: "valid inline and path", butane: `butane:
  - name: motd
    inline: |
      variant: fcos
      version: 1.5.0
      storage:
        files:
          - path: /etc/motd
            contents:
              inline: hi
  - name: extra
    path: extra.bu
`, files: map[string]string{"extra.bu": "variant: fcos\nversion: 1.6.0\nsystemd:\n  units:\n    - name: hello.service\n      enabled: true\n      contents: |\n        [Service]\n        ExecStart=/bin/true\n        [Install]\n        WantedBy=multi-user.target\n"}},
		{name: "unknown key", butane: `butane:
  - name: typo
    inline: |
      variant: fcos
      version: 1.6.0
      storage:
        filez:
          - path: /etc/motd
`, want: []wantDiag{{Path: "butane[0].inline", Line: "        filez:", Col: 9, Msg: `snippet "typo": warning: unused key filez`}}},
		{name: "wrong spec version", butane: `butane:
  - name: old
    inline: |
      variant: fcos
      version: 9.9.0
`, want: []wantDiag{{Path: "butane[0].inline", Line: "version: 9.9.0", Msg: "No translator exists for variant fcos with version 9.9.0"}}},
		{name: "newer spec than vela renders", butane: `butane:
  - name: new
    inline: |
      variant: fcos
      version: 1.7.0
`, want: []wantDiag{{Path: "butane[0].inline", Line: "version: 1.7.0", Msg: "Vela cannot merge"}}},
		{name: "invalid unit contents", butane: `butane:
  - name: warn
    inline: |
      variant: fcos
      version: 1.6.0
      systemd:
        units:
          - name: bad.service
            contents: "[Service]\nExecStart=/bin/true\nBogus\n"
`, want: []wantDiag{{Path: "butane[0].inline", Line: "contents: ", Msg: "invalid unit content"}}},
		{name: "yaml syntax in path snippet", butane: `butane:
  - name: broken
    path: broken.bu
`, files: map[string]string{"broken.bu": "variant: fcos\nversion: 1.6.0\nstorage:\n  files: [\n"},
			want: []wantDiag{{Path: "butane[0].path", InFile: "broken.bu", Msg: "yaml"}}},
		{name: "conflict with vela's own file", butane: `butane:
  - name: host
    inline: |
      variant: fcos
      version: 1.6.0
      storage:
        files:
          - path: /etc/hostname
            overwrite: true
            contents:
              inline: evil
`, want: []wantDiag{{Path: "butane[0].inline", Line: "- path: /etc/hostname", Msg: "file /etc/hostname conflicts with Vela's own file or directory /etc/hostname"}}},
		{name: "conflict with vela's own unit", butane: `butane:
  - name: unit
    path: unit.bu
`, files: map[string]string{"unit.bu": "variant: fcos\nversion: 1.6.0\nsystemd:\n  units:\n    - name: vela-server.service\n      mask: true\n"},
			want: []wantDiag{{Path: "butane[0].path", InFile: "unit.bu", Line: "- name: vela-server.service", Msg: "unit vela-server.service conflicts with Vela's own unit vela-server.service"}}},
		{name: "drop-in on vela's unit is fine", butane: `butane:
  - name: dropin
    inline: |
      variant: fcos
      version: 1.6.0
      systemd:
        units:
          - name: vela-agent.service
            dropins:
              - name: 50-env.conf
                contents: "[Service]\nEnvironment=DEBUG=1\n"
`},
		{name: "huge path snippet", butane: `butane:
  - name: huge
    path: huge.bu
`, files: map[string]string{"huge.bu": huge}, want: []wantDiag{{Path: "butane[0].path", Line: "    path: huge.bu", Msg: "the limit is 256 KiB"}}},
		{name: "quoted inline keeps the snippet's line in the message", butane: `butane:
  - name: quoted
    inline: "variant: fcos\nversion: 1.6.0\nfoo: 1\n"
`, want: []wantDiag{{Path: "butane[0].inline", Line: `    inline: "variant`, Msg: `snippet "quoted" line 3 col 1: warning: unused key foo`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, src, dir := writeConfig(t, tc.butane, tc.files)
			diags := CheckSnippets(cfg, src, dir)
			var got []wantDiag
			for _, d := range diags {
				w := wantDiag{Path: d.Path, Msg: d.Msg}
				file := src.File
				if d.File != src.File {
					w.InFile = filepath.Base(d.File)
					file = d.File
				}
				if d.Pos.Line > 0 {
					b, _ := os.ReadFile(file)
					lines := strings.Split(string(b), "\n")
					if d.Pos.Line <= len(lines) {
						w.Line = lines[d.Pos.Line-1]
					}
				}
				w.Col = d.Pos.Col
				got = append(got, w)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d diagnostics, want %d:\n%v", len(diags), len(tc.want), diags)
			}
			for i, w := range tc.want {
				g := got[i]
				if !strings.Contains(g.Msg, w.Msg) {
					t.Errorf("message %q does not contain %q", g.Msg, w.Msg)
				}
				if w.Line != "" && !strings.Contains(g.Line, strings.TrimSpace(w.Line)) {
					t.Errorf("points at line %q, want the line %q (%v)", g.Line, w.Line, diags[i])
				}
				if w.Col != 0 && g.Col != w.Col {
					t.Errorf("column %d, want %d", g.Col, w.Col)
				}
				if diff := cmp.Diff([2]string{w.Path, w.InFile}, [2]string{g.Path, g.InFile}); diff != "" {
					t.Errorf("path/file (-want +got):\n%s", diff)
				}
			}
			// Render must refuse exactly the configs CheckSnippets faults.
			in := testInput(t, cfg, "both1")
			in.BaseDir = dir
			_, err := Render(in)
			if (err != nil) != (len(tc.want) > 0) {
				t.Errorf("Render error = %v, want an error: %v", err, len(tc.want) > 0)
			}
		})
	}
}
