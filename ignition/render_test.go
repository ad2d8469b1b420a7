package ignition

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/installer/config"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// testVela stands in for the vela binary the boot server serves.
var testVela = []byte("#!/bin/sh\necho vela test binary\n")

func testHash() string {
	s := sha512.Sum512(testVela)
	return hex.EncodeToString(s[:])
}

// testNodeImage stands in for the packed node image.
var testNodeImage = []byte("hsqs: a node image for tests")

func testNodeImageHash() string {
	s := sha512.Sum512(testNodeImage)
	return hex.EncodeToString(s[:])
}

// testArtifacts stand in for an OS image's kernel, initramfs and rootfs,
// and testBootImage for their hashes in the image store's manifest.
var (
	testArtifacts = map[string][]byte{"kernel": []byte("a kernel for tests"), "initramfs": []byte("an initramfs for tests"),
		"rootfs": []byte("a root image for tests"), "undionly.kpxe": []byte("iPXE for BIOS"), "snponly.efi": []byte("iPXE for UEFI")}
	testBootImage = BootImage{KernelSHA256: sha256Hex(testArtifacts["kernel"]), InitramfsSHA256: sha256Hex(testArtifacts["initramfs"]),
		RootfsSHA256: sha256Hex(testArtifacts["rootfs"]),
		IPXE:         map[string]string{"undionly.kpxe": sha256Hex(testArtifacts["undionly.kpxe"]), "snponly.efi": sha256Hex(testArtifacts["snponly.efi"])}}
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func loadTestConfig(t testing.TB, image string) *config.Config {
	t.Helper()
	cfg, _, diags := config.Load(filepath.Join("testdata", "rack.yaml"))
	if diags.HasErrors() {
		t.Fatalf("testdata/rack.yaml does not validate:\n%v", diags)
	}
	cfg.OS.Image = image
	return cfg
}

func testCA(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testToken(machine string) string { return "join-token-of-" + machine + "-0123456789abcdef" }

func testInput(t testing.TB, cfg *config.Config, machine string) Input {
	return Input{Config: cfg, BaseDir: "testdata", Machine: machine, BootURL: "http://10.20.0.1:80",
		VelaSHA512: testHash(), CACert: testCA(t), JoinToken: testToken(machine), AgentToken: testToken(machine + "-agent"), NodeImageSHA512: testNodeImageHash(),
		BootImage: &testBootImage,
		Bootstrap: &BootstrapRecords{JoinTokens: []byte(`[{"id":"j1","hash":"h"}]`), APITokens: []byte(`[{"id":"a1","hash":"h"}]`)}}
}

// TestGolden renders one machine per role for each variant and compares the
// indented JSON with testdata/golden/VARIANT-ROLE.json (-update rewrites them).
func TestGolden(t *testing.T) {
	for _, image := range []string{config.ImageVelaOS, config.ImageFCOS} {
		for _, tc := range []struct{ role, machine string }{
			{"member", "member1"}, {"both", "both1"}, {"hypervisor", "hyper1"},
		} {
			t.Run(image+"-"+tc.role, func(t *testing.T) {
				cfg := loadTestConfig(t, image)
				got, err := Render(testInput(t, cfg, tc.machine))
				if err != nil {
					t.Fatal(err)
				}
				if err := Validate(got); err != nil {
					t.Fatal(err)
				}
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, got, "", "  "); err != nil {
					t.Fatal(err)
				}
				pretty.WriteByte('\n')
				golden := filepath.Join("testdata", "golden", image+"-"+tc.role+".json")
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./ignition -run TestGolden -update)", err)
				}
				if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
					t.Errorf("%s differs (-want +got); rerun with -update if intended:\n%s", golden, diff)
				}
			})
		}
	}
}

// TestContent checks what each machine's config must hold, by reading the
// parsed config rather than the text.
func TestContent(t *testing.T) {
	for _, image := range []string{config.ImageVelaOS, config.ImageFCOS} {
		cfg := loadTestConfig(t, image)
		for _, m := range cfg.Machines {
			t.Run(image+"/"+m.Name, func(t *testing.T) {
				out, err := Render(testInput(t, cfg, m.Name))
				if err != nil {
					t.Fatal(err)
				}
				c := parse(t, out)
				files := map[string]string{}
				for _, f := range c.Storage.Files {
					src := ""
					if f.Contents.Source != nil {
						src = *f.Contents.Source
					}
					files[f.Path] = src
				}
				units := map[string]bool{}
				for _, u := range c.Systemd.Units {
					units[u.Name] = u.Enabled != nil && *u.Enabled
				}
				if got := files["/etc/hostname"]; got != "data:,"+m.Name {
					t.Errorf("hostname source = %q", got)
				}
				if got, want := files[VelaPath], "http://10.20.0.1:80/vela/vela"; got != want {
					t.Errorf("vela source = %q, want %q", got, want)
				}
				for _, f := range c.Storage.Files {
					if f.Path == VelaPath && (f.Contents.Verification.Hash == nil || *f.Contents.Verification.Hash != "sha512-"+testHash()) {
						t.Errorf("vela binary has no sha512 verification")
					}
					if f.Path == TokenPath && (f.Mode == nil || *f.Mode != 0o600) {
						t.Errorf("join token mode is not 0600")
					}
				}
				if !strings.Contains(files[TokenPath], testToken(m.Name)) {
					t.Errorf("join token file %q does not hold the machine's token", files[TokenPath])
				}
				if strings.Contains(string(out), "PRIVATE KEY") {
					t.Errorf("config holds a private key")
				}
				if got := units["vela-server.service"]; got != m.IsMember() {
					t.Errorf("vela-server.service enabled = %v, member = %v", got, m.IsMember())
				}
				if got := units["vela-agent.service"]; got != m.IsHypervisor() {
					t.Errorf("vela-agent.service enabled = %v, hypervisor = %v", got, m.IsHypervisor())
				}
				if len(c.Passwd.Users) != 1 || c.Passwd.Users[0].Name != "core" || len(c.Passwd.Users[0].SSHAuthorizedKeys) != 1 {
					t.Errorf("users = %+v, want core with one key", c.Passwd.Users)
				}
				if _, ok := files["/etc/motd"]; !ok {
					t.Errorf("the operator snippet's /etc/motd is missing")
				}
				wantKargs := image == config.ImageFCOS && m.Disk != ""
				if got := len(c.KernelArguments.ShouldExist) > 0; got != wantKargs {
					t.Errorf("kernel arguments present = %v, want %v", got, wantKargs)
				}
			})
		}
	}
}

// A custom image gets the vela-os variant's config, without day-2 boot
// (its files are not copied to the members).
func TestCustomImageUsesVelaOSTemplate(t *testing.T) {
	cfg := loadTestConfig(t, config.ImageVelaOS)
	in := testInput(t, cfg, cfg.Machines[0].Name)
	in.BootImage = nil
	want, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	cfg.OS = config.OS{Image: config.ImageCustom, Kernel: "k", Initramfs: "i"}
	got, err := Render(testInput(t, cfg, cfg.Machines[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("custom image config differs from the vela-os one without day-2 boot")
	}
}

func TestAgentFlags(t *testing.T) {
	for _, tc := range []struct {
		h    config.Hypervisor
		want string
	}{
		{config.Hypervisor{}, ""},
		{config.Hypervisor{ReservedMemory: config.DefaultReservedMemory, NodeMemoryPercent: 100}, ""},
		{config.Hypervisor{ReservedMemory: 1 << 30, NodeMemoryPercent: 200}, " --reserved-memory 1GiB --memory-overcommit 2.00"},
		{config.Hypervisor{NodeMemoryPercent: 150}, " --memory-overcommit 1.50"},
	} {
		if got := agentFlags(tc.h); got != tc.want {
			t.Errorf("agentFlags(%+v) = %q, want %q", tc.h, got, tc.want)
		}
	}
}
