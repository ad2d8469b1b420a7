package autoscale

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/swarm"
	"github.com/vela-appliance/vela/cluster/swarm/swarmtest"
)

// busyboxImage is a one-binary image tarball for `docker import`: no
// registry is reachable, so tests build their images from Debian's
// busybox-static.
func busyboxImage(t *testing.T) []byte {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("busybox-static is needed: %v", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "bin/busybox", Mode: 0o755, Size: int64(len(bb))})
	tw.Write(bb)
	for _, l := range []string{"sh", "sleep"} {
		tw.WriteHeader(&tar.Header{Name: "bin/" + l, Typeflag: tar.TypeSymlink, Linkname: "busybox"})
	}
	tw.Close()
	return buf.Bytes()
}

func docker(t *testing.T, nd *swarmtest.Node, stdin []byte, args ...string) string {
	t.Helper()
	cmd := exec.Command("docker", append([]string{"-H", "unix://" + filepath.Join(nd.Dir, "docker.sock")}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestMeasureRealSwarm runs a service with reservations, a standalone
// container with limits and a service too big for any node on a real
// one-node swarm, and checks what Measure counts.
func TestMeasureRealSwarm(t *testing.T) {
	swarmtest.Need(t)
	if _, err := exec.LookPath("docker"); err != nil && os.Getenv("CI") == "" {
		t.Skip("needs the docker CLI")
	}
	p := swarmtest.NewPKI(t)
	nodes := swarmtest.StartNodes(t, p, 1)
	nd := nodes[0]
	ctx := context.Background()
	eng := p.Engine(nd, true)
	if _, err := swarm.Form(ctx, []swarm.Member{{Name: nd.Name, Addr: nd.IP, Engine: eng}}); err != nil {
		t.Fatal(err)
	}
	docker(t, nd, busyboxImage(t), "import", "-", "vela-test/busybox:1")
	docker(t, nd, nil, "service", "create", "--detach", "--name", "web", "--replicas", "2", "--endpoint-mode", "dnsrr",
		"--reserve-memory", "256m", "--reserve-cpu", "0.25", "vela-test/busybox:1", "sleep", "3600")
	info, err := eng.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Two tasks of 2/3 of the node's memory: one is placed, one pends.
	big := info.MemTotal * 2 / 3 >> 20 << 20
	docker(t, nd, nil, "service", "create", "--detach", "--name", "big", "--replicas", "2", "--endpoint-mode", "dnsrr",
		"--reserve-memory", fmt.Sprintf("%db", big), "vela-test/busybox:1", "sleep", "3600")
	docker(t, nd, nil, "run", "-d", "--network", "none", "--memory", "512m", "--cpus", "0.5", "vela-test/busybox:1", "sleep", "3600")

	want := Usage{Reserved: Resources{Memory: 2*256<<20 + 512<<20 + big, NanoCPU: 2*250e6 + 500e6}, Pending: []Resources{{Memory: big}}}
	var got Usage
	deadline := time.Now().Add(90 * time.Second)
	for {
		var err error
		got, err = Measure(ctx, eng, []Node{eng})
		if err != nil {
			t.Fatal(err)
		}
		if got.Reserved == want.Reserved && len(got.Pending) == 1 && got.Pending[0] == want.Pending[0] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("measured %+v, want %+v\n%s", got, want, docker(t, nd, nil, "service", "ps", "--no-trunc", "web", "big"))
		}
		time.Sleep(200 * time.Millisecond) // polling until the swarm has placed the tasks
	}
	// The node's capacity as its engine reports it (a Vela node: 4 GiB).
	d := Decide(State{Nodes: 1, NodeCapacity: Resources{info.MemTotal, int64(info.NCPU) * 1e9}, Reserved: got.Reserved, Pending: got.Pending},
		Policy{Enabled: true, Max: 10}, time.Now())
	if d.Add != 1 || !strings.Contains(d.Reason, "1 task(s) pending for lack of resources") {
		t.Errorf("decision %+v", d)
	}
}
