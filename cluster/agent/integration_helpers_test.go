package agent

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// need skips t (or fails it in CI) when a program is missing.
func need(t *testing.T, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") == "" {
				t.Skipf("needs %s", p)
			}
			t.Fatalf("CI is set but %s is missing", p)
		}
	}
}

func docker(ctx context.Context, addr, certDir string, args ...string) (string, error) {
	base := []string{"-H", "tcp://" + addr + ":2376"}
	if certDir != "" {
		base = append(base, "--tlsverify", "--tlscacert", certDir+"/ca.pem",
			"--tlscert", certDir+"/cert.pem", "--tlskey", certDir+"/key.pem")
	}
	out, err := exec.CommandContext(ctx, "docker", append(base, args...)...).CombinedOutput()
	return string(out), err
}

// dockerReady polls `docker info` over TLS until it answers (30s at most).
func dockerReady(ctx context.Context, addr, certs string) (string, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := docker(ctx, addr, certs, "info", "--format", "{{.ServerVersion}} {{.Driver}}")
		if err == nil {
			return out, nil
		}
		if time.Now().After(deadline) {
			return out, fmt.Errorf("dockerd not ready over TLS in 30s: %w", err)
		}
		time.Sleep(100 * time.Millisecond) // polling interval, not a readiness guess
	}
}

// canConnect tries a TCP connection to addr from inside the network
// namespace of process pid.
func canConnect(ctx context.Context, pid int, addr string) bool {
	cmd := exec.CommandContext(ctx, "nsenter", "-t", fmt.Sprint(pid), "-n", "--",
		"timeout", "2", "bash", "-c", "exec 3<>/dev/tcp/"+strings.Replace(addr, ":", "/", 1))
	return cmd.Run() == nil
}

// testImage imports a busybox image with a memory hog into a node.
func testImage(t *testing.T, ctx context.Context, addr, certs string) {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(dir+"/img/bin", 0o755))
	bb, err := exec.LookPath("busybox")
	if err != nil {
		need(t, "busybox")
	}
	out, err := exec.Command("cp", bb, dir+"/img/bin/busybox").CombinedOutput()
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	for _, a := range []string{"sh", "dd", "fallocate", "df", "cat", "sleep"} {
		must(os.Symlink("busybox", dir+"/img/bin/"+a))
	}
	must(os.WriteFile(dir+"/hog.go", []byte(`package main
import ("fmt"; "os"; "strconv")
func main() {
	n, _ := strconv.Atoi(os.Args[1])
	var keep [][]byte
	for i := 0; i < n; i++ { b := make([]byte, 1<<20); for j := 0; j < len(b); j += 4096 { b[j] = 1 }; keep = append(keep, b) }
	fmt.Println("allocated", len(keep), "MiB")
}`), 0o644))
	must(os.WriteFile(dir+"/go.mod", []byte("module hog\ngo 1.21\n"), 0o644))
	build := exec.Command("go", "build", "-o", dir+"/img/bin/hog", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build hog: %v %s", err, out)
	}
	imp := exec.CommandContext(ctx, "sh", "-c", fmt.Sprintf(
		"tar -C %s/img -c . | docker -H tcp://%s:2376 --tlsverify --tlscacert %s/ca.pem --tlscert %s/cert.pem --tlskey %s/key.pem import - vela/test",
		dir, addr, certs, certs, certs))
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v %s", err, out)
	}
}

var velaBin struct {
	once sync.Once
	path string
	err  error
}

// buildVela builds cmd/vela once per test binary: nodes run its
// `agent authz` subcommand and the kill -9 test runs `vela agent`.
func buildVela(t *testing.T) string {
	velaBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "vela-bin-")
		if err != nil {
			velaBin.err = err
			return
		}
		velaBin.path = filepath.Join(dir, "vela")
		out, err := exec.Command("go", "build", "-o", velaBin.path, "github.com/vela-appliance/vela/cmd/vela").CombinedOutput()
		if err != nil {
			velaBin.err = fmt.Errorf("go build ./cmd/vela: %v\n%s", err, out)
		}
	})
	if velaBin.err != nil {
		t.Fatal(velaBin.err)
	}
	return velaBin.path
}

// TestMain holds the host's routes lock (lockHostRoutesForPackage) and
// removes the vela binary buildVela made once all tests ran (it is shared
// by the tests of this package).
func TestMain(m *testing.M) {
	flag.Parse()
	// Fuzzing runs no test that touches the host; its workers are more
	// processes of this binary, which must not wait for the lock.
	if f := flag.Lookup("test.fuzz"); f == nil || f.Value.String() == "" {
		if w := flag.Lookup("test.fuzzworker"); w == nil || w.Value.String() != "true" {
			lockHostRoutesForPackage()
		}
	}
	code := m.Run()
	if velaBin.path != "" {
		_ = os.RemoveAll(filepath.Dir(velaBin.path))
	}
	os.Exit(code)
}

// writeNodesFile writes a desired-nodes file (and its TLS files) for
// `vela agent --nodes`.
func writeNodesFile(t *testing.T, nodes []DesiredNode) string {
	dir := t.TempDir()
	var nf NodesFile
	for _, d := range nodes {
		n := d.Spec.Name
		for suffix, b := range map[string][]byte{"-ca.pem": d.TLS.CACert, "-cert.pem": d.TLS.Cert, "-key.pem": d.TLS.Key} {
			if err := os.WriteFile(filepath.Join(dir, n+suffix), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		nf.Nodes = append(nf.Nodes, FileNode{Name: n, Tenant: d.Spec.Tenant, Address: d.Spec.Address.String(),
			Gateway: d.Spec.Gateway.String(), MemoryBytes: d.Spec.MemoryBytes, VCPUs: d.Spec.VCPUs,
			DiskBytes: d.Spec.DiskBytes, Privileged: d.Spec.Privileged, CAFile: n + "-ca.pem", CertFile: n + "-cert.pem", KeyFile: n + "-key.pem"})
	}
	b, err := json.Marshal(nf)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "nodes.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitStatus polls the agent's status file until every node is running.
func waitStatus(t *testing.T, ctx context.Context, path string, names []string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) && ctx.Err() == nil {
		b, err := os.ReadFile(path)
		if err == nil {
			last = string(b)
			var st fileStatus
			if json.Unmarshal(b, &st) == nil {
				ok := true
				for _, n := range names {
					ok = ok && st.Nodes[n].State == Running
				}
				if ok {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	t.Fatalf("nodes %v not all running in %s within 60s; last status:\n%s", names, path, last)
}

type logWriter struct {
	t      *testing.T
	prefix string
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
