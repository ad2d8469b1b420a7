package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
)

var update = flag.Bool("update", false, "rewrite golden files")

// vela runs the command tree in-process like the shell would.
func vela(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	var ex exitError
	switch {
	case err == nil:
	case errors.As(err, &ex):
		code = ex.code
		errb.WriteString(ex.msg)
	default:
		code = 1
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

func TestExampleValidatesThroughAPipe(t *testing.T) {
	for _, args := range [][]string{{"config", "example"}, {"config", "example", "--lab"}} {
		example, _, code := vela(t, "", args...)
		if code != 0 {
			t.Fatal(args, code)
		}
		out, errs, code := vela(t, example, "config", "validate", "-")
		if code != 0 || !strings.Contains(out, "-: valid") {
			t.Errorf("%v | validate -: code %d\n%s%s", args, code, out, errs)
		}
	}
}

func TestValidateBrokenFileReportsEverything(t *testing.T) {
	_, errs, code := vela(t, "", "config", "validate", "../../installer/config/testdata/invalid/machines.yaml")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if len(lines) < 15 || !strings.HasPrefix(lines[0], "../../installer/config/testdata/invalid/machines.yaml:") {
		t.Errorf("want every error with file:line, got:\n%s", errs)
	}
	if !strings.Contains(errs, "error(s); nothing was changed") {
		t.Errorf("no summary: %s", errs)
	}
}

func TestDryRunPlanGolden(t *testing.T) {
	out, _, code := vela(t, "", "install", "--config", "../../examples/lab.yaml", "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if *update {
		os.WriteFile("testdata/lab-dry-run.txt", []byte(out), 0o644)
	}
	want, err := os.ReadFile("testdata/lab-dry-run.txt")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), out); diff != "" {
		t.Errorf("dry run (-want +got):\n%s", diff)
	}
}

func TestInstallRefusesBadConfigAndWritesNothing(t *testing.T) {
	dir := t.TempDir() + "/state"
	_, errs, code := vela(t, "", "install", "--config", "../../installer/config/testdata/invalid/lab.yaml", "--state-dir", dir)
	if code != 1 || !strings.Contains(errs, "nothing was changed") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("state dir was created: %v", err)
	}
}

func TestSchemaIsJSON(t *testing.T) {
	out, _, code := vela(t, "", "config", "schema")
	if code != 0 || !strings.HasPrefix(out, "{") || !strings.Contains(out, `"machines"`) {
		t.Errorf("exit %d: %.200s", code, out)
	}
}

func TestVersion(t *testing.T) {
	out, _, code := vela(t, "", "--version")
	if code != 0 || out != "vela dev\n" {
		t.Errorf("exit %d: %q", code, out)
	}
}

// Every command a user can run has help with an example.
func TestEveryCommandHasAnExample(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || strings.HasPrefix(c.CommandPath(), "vela completion") {
			return
		}
		if c.Example == "" {
			t.Errorf("%q has no Example", c.CommandPath())
		}
		if c.Short == "" {
			t.Errorf("%q has no Short", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
}
