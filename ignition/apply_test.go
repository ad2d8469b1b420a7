package ignition

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vela-appliance/vela/installer/config"
)

// needComponent skips when something the test needs is missing, but only
// outside CI: with CI set the test must run, so it fails instead.
func needComponent(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI is set, so this test may not skip)", msg)
	}
	t.Skip(msg)
}

// ignitionBinary returns the real Ignition binary, built from the module
// proxy at the version go.mod requires (cgo, libblkid-dev) and cached under
// $HOME/.cache/vela/ by version and build flags, so a second run is fast.
// It is built the way vela-os builds it: no SELinux relabeling, SSH keys in
// ~/.ssh/authorized_keys rather than a fragment directory.
func ignitionBinary(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/coreos/ignition/v2").Output()
	if err != nil {
		t.Fatalf("finding the Ignition version in go.mod: %v", err)
	}
	version := strings.TrimSpace(string(out))
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(home, ".cache", "vela", "ignition-"+version+"-velaos")
	bin := filepath.Join(dir, "ignition")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".build-") // same filesystem: rename is atomic
	if err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if tmp, err = os.MkdirTemp(filepath.Dir(dir), ".build-"); err != nil {
			t.Fatal(err)
		}
	}
	defer os.RemoveAll(tmp)
	const distro = "github.com/coreos/ignition/v2/internal/distro"
	cmd := exec.Command("go", "install", "-ldflags", strings.Join([]string{
		"-X github.com/coreos/ignition/v2/internal/version.Raw=" + version,
		"-X " + distro + ".selinuxRelabel=false",
		"-X " + distro + ".writeAuthorizedKeysFragment=false",
	}, " "), "github.com/coreos/ignition/v2/internal@"+version)
	cmd.Dir = tmp // outside Vela's module: Ignition builds with its own go.mod
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "CGO_ENABLED=1", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		if bytes.Contains(out, []byte("blkid.h")) {
			needComponent(t, "building Ignition needs libblkid-dev (apt-get install libblkid-dev): %s", out)
		}
		t.Fatalf("building Ignition %s: %v\n%s", version, err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "internal"), filepath.Join(tmp, "ignition")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("ignition", filepath.Join(tmp, "ignition-apply")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(bin); statErr != nil { // another run may have won the race
			t.Fatal(err)
		}
	}
	return bin
}

// fakeRoot makes a directory tree with the account files useradd edits.
func fakeRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	// Ignition creates ~core/.ssh as core itself: core must be able to
	// traverse down to the root (TempDir makes 0700 directories).
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"etc/passwd":  "root:x:0:0:root:/root:/bin/sh\n",
		"etc/group":   "root:x:0:\n",
		"etc/shadow":  "root:*:19000:0:99999:7:::\n",
		"etc/gshadow": "root:*::\n",
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// bootServer serves the vela binary on loopback, as the boot server would.
func bootServer(t *testing.T) *httptest.Server { return bootServerOf(t, testVela) }

func bootServerOf(t *testing.T, vela []byte) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+VelaURLPath, func(w http.ResponseWriter, r *http.Request) { w.Write(vela) })
	mux.HandleFunc("GET "+NodeImageURLPath, func(w http.ResponseWriter, r *http.Request) { w.Write(testNodeImage) })
	mux.HandleFunc("GET "+IPXEURLPath+"{file}", func(w http.ResponseWriter, r *http.Request) {
		if f := r.PathValue("file"); f == "undionly.kpxe" || f == "snponly.efi" {
			w.Write(testArtifacts[f])
			return
		}
		http.NotFound(w, r)
	})
	mux.HandleFunc("GET /images/{image}/{file}", func(w http.ResponseWriter, r *http.Request) {
		b, ok := testArtifacts[r.PathValue("file")]
		if !ok || r.PathValue("image") == "node" || !slices.Contains([]string{"kernel", "initramfs", "rootfs"}, r.PathValue("file")) {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func renderFor(t *testing.T, image, machine, bootURL string) (string, Input) {
	t.Helper()
	in := testInput(t, loadTestConfig(t, image), machine)
	in.BootURL = bootURL
	b, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "config.ign")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, in
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		needComponent(t, "applying a config creates users and root-owned files: run as root")
	}
}

// TestIgnitionStages runs the real Ignition's files stage (full stage mode,
// as vela-os's initramfs does) on a rendered config against a temporary
// root, then checks files, modes, the fetched and verified vela binary, the
// core user and its key, the units, their presets, and the enablement
// symlinks systemd makes from those presets.
func TestIgnitionStages(t *testing.T) {
	needRoot(t)
	bin := ignitionBinary(t)
	srv := bootServer(t)
	for _, image := range []string{config.ImageVelaOS, config.ImageFCOS} {
		t.Run(image, func(t *testing.T) {
			cfgPath, in := renderFor(t, image, "both1", srv.URL)
			root := fakeRoot(t)
			state := t.TempDir()
			cmd := exec.Command(bin, "--platform", "file", "--stage", "files", "--root", root,
				"--config-cache", cfgPath, "--state-file", filepath.Join(state, "state"),
				"--neednet", filepath.Join(state, "neednet"), "--log-to-stdout")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ignition files stage: %v\n%s", err, out)
			}
			checkFiles(t, root, in)
			checkDay2Images(t, root, image)
			passwd := readFile(t, root, "etc/passwd")
			if !strings.Contains(passwd, "\ncore:") {
				t.Errorf("user core was not created:\n%s", passwd)
			}
			keys := readFile(t, root, "home/core/.ssh/authorized_keys")
			if !strings.Contains(keys, in.Config.SSHAuthorizedKeys[0]) {
				t.Errorf("core's authorized_keys = %q", keys)
			}
			checkEnablement(t, root, image)
		})
	}
}

// TestIgnitionApply runs ignition-apply, the live mode: it writes files and
// units but refuses the passwd section unless told to ignore it.
func TestIgnitionApply(t *testing.T) {
	needRoot(t)
	bin := ignitionBinary(t)
	apply := filepath.Join(filepath.Dir(bin), "ignition-apply")
	srv := bootServer(t)
	cfgPath, in := renderFor(t, config.ImageVelaOS, "both1", srv.URL)
	env := append(os.Environ(), "container=vela-test") // it refuses to run on a host
	root := t.TempDir()
	cmd := exec.Command(apply, "--root", root, cfgPath)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("cannot apply passwd live")) {
		t.Fatalf("ignition-apply with a passwd section: err = %v, want 'cannot apply passwd live'\n%s", err, out)
	}
	cmd = exec.Command(apply, "--ignore-unsupported", "--root", root, cfgPath)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ignition-apply --ignore-unsupported: %v\n%s", err, out)
	}
	checkFiles(t, root, in)
	checkDay2Images(t, root, config.ImageVelaOS)
	if _, err := os.Stat(filepath.Join(root, "home", "core")); !os.IsNotExist(err) {
		t.Errorf("ignition-apply created /home/core although it skips passwd: %v", err)
	}
	checkEnablement(t, root, config.ImageVelaOS)
}

func readFile(t *testing.T, root, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkFiles(t *testing.T, root string, in Input) {
	t.Helper()
	for _, f := range []struct {
		path string
		mode os.FileMode
		want string
	}{
		{"etc/hostname", 0o644, "both1"},
		{"usr/local/bin/vela", 0o755, string(testVela)},
		{"etc/vela/join-token", 0o600, in.JoinToken},
		{"etc/vela/agent-token", 0o600, in.AgentToken},
		{"var/lib/vela/images/node.squashfs", 0o644, string(testNodeImage)},
		{"etc/vela/ca.pem", 0o644, string(in.CACert)},
		{"etc/motd", 0o644, "Managed by Vela.\n"},
	} {
		p := filepath.Join(root, f.path)
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", f.path, err)
			continue
		}
		if st.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.path, st.Mode().Perm(), f.mode)
		}
		if got := readFile(t, root, f.path); got != f.want {
			t.Errorf("%s = %q, want %q", f.path, got, f.want)
		}
	}
	// The server's data stays private; the agent's (and /var/lib/vela on a
	// hypervisor) let unprivileged nodes (uid 100000) walk to their roots.
	for d, want := range map[string]os.FileMode{"var/lib/vela/server": 0o700, "var/lib/vela/agent": 0o711, "var/lib/vela": 0o711} {
		if st, err := os.Stat(filepath.Join(root, d)); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want a %#o directory", d, err, st, want)
		}
	}
	unit := readFile(t, root, "etc/systemd/system/vela-server.service")
	if !strings.Contains(unit, "ExecStart=/usr/local/bin/vela server --data-dir /var/lib/vela/server --raft-addr 10.20.0.12:8444") {
		t.Errorf("vela-server.service:\n%s", unit)
	}
}

// checkDay2Images checks the boot images a member serves day-2 boot from:
// kernel and initramfs fetched and verified, and the rootfs fetched (fcos)
// or linked to the root image the live system booted from (vela-os).
func checkDay2Images(t *testing.T, root, image string) {
	t.Helper()
	unit := readFile(t, root, "etc/systemd/system/vela-server.service")
	if !strings.Contains(unit, " --boot-interface auto --boot-images "+BootImagesDir+" --boot-tftp-root "+IPXEDir+"\n") {
		t.Errorf("vela-server.service does not serve day-2 boot:\n%s", unit)
	}
	for _, f := range []string{"undionly.kpxe", "snponly.efi"} {
		if got := readFile(t, root, filepath.Join(strings.TrimPrefix(IPXEDir, "/"), f)); got != string(testArtifacts[f]) {
			t.Errorf("%s/%s = %q, want the served iPXE binary", IPXEDir, f, got)
		}
	}
	dir := filepath.Join(strings.TrimPrefix(BootImagesDir, "/"), image, "current")
	for _, a := range []string{"kernel", "initramfs"} {
		if got := readFile(t, root, filepath.Join(dir, a)); got != string(testArtifacts[a]) {
			t.Errorf("%s/%s = %q, want the served %s", dir, a, got, a)
		}
	}
	if image == config.ImageFCOS {
		if got := readFile(t, root, filepath.Join(dir, "rootfs")); got != string(testArtifacts["rootfs"]) {
			t.Errorf("%s/rootfs = %q, want the served rootfs", dir, got)
		}
		return
	}
	rootfs := filepath.Join(root, dir, "rootfs")
	if dest, err := os.Readlink(rootfs); err != nil || dest != LiveRootfsPath {
		t.Errorf("%s: link to %q (%v), want a link to %s", rootfs, dest, err, LiveRootfsPath)
	}
}

// checkEnablement reads the presets Ignition wrote and lets systemctl turn
// them into the symlinks systemd would make on first boot.
func checkEnablement(t *testing.T, root, image string) {
	t.Helper()
	presets := readFile(t, root, "etc/systemd/system-preset/20-ignition.preset")
	for _, u := range []string{"vela-server.service", "vela-agent.service", "vela-report.service"} {
		if !strings.Contains(presets, "enable "+u+"\n") {
			t.Errorf("preset file does not enable %s:\n%s", u, presets)
		}
	}
	systemctl, err := exec.LookPath("systemctl")
	if err != nil {
		needComponent(t, "systemctl is needed to check enablement symlinks: %v", err)
	}
	ours := []string{"vela-server.service", "vela-agent.service", "vela-report.service"}
	cmd := exec.Command(systemctl, append([]string{"--root", root, "preset"}, ours...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemctl --root preset: %v\n%s", err, out)
	}
	for _, u := range ours {
		link := filepath.Join(root, "etc/systemd/system/multi-user.target.wants", u)
		dest, err := os.Readlink(link)
		if err != nil || dest != "/etc/systemd/system/"+u {
			t.Errorf("%s: %q %v, want a link to /etc/systemd/system/%s", link, dest, err, u)
		}
	}
}

// TestIgnitionRefusesAnotherBinary: a binary that does not match the hash in
// the config is not installed.
func TestIgnitionRefusesAnotherBinary(t *testing.T) {
	needRoot(t)
	bin := ignitionBinary(t)
	srv := bootServerOf(t, []byte("#!/bin/sh\necho not vela\n"))
	cfgPath, _ := renderFor(t, config.ImageVelaOS, "both1", srv.URL)
	root := t.TempDir()
	cmd := exec.Command(filepath.Join(filepath.Dir(bin), "ignition-apply"), "--ignore-unsupported", "--root", root, cfgPath)
	cmd.Env = append(os.Environ(), "container=vela-test")
	out, err := cmd.CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("hash")) {
		t.Fatalf("ignition-apply with a wrong binary: err = %v, want a hash mismatch\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/local/bin/vela")); !os.IsNotExist(err) {
		t.Errorf("the wrong binary was installed: %v", err)
	}
}
