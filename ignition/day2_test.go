package ignition

import (
	"strings"
	"testing"

	"github.com/vela-appliance/vela/installer/config"
)

// TestDay2Boot: which machines' vela server serves day-2 boot, and what
// they fetch for it.
func TestDay2Boot(t *testing.T) {
	off := false
	badHash := testBootImage
	badHash.InitramfsSHA256 = "sha512-nope"
	noRootfs := testBootImage
	noRootfs.RootfsSHA256 = ""
	noIPXE := testBootImage
	noIPXE.IPXE = nil
	badIPXE := testBootImage
	badIPXE.IPXE = map[string]string{"../undionly.kpxe": testBootImage.KernelSHA256}
	for _, tc := range []struct {
		name, image, machine string
		day2                 *bool
		boot                 *BootImage
		wantOn               bool
		wantErr              string
	}{
		{"member", config.ImageVelaOS, "member1", nil, &testBootImage, true, ""},
		{"both", config.ImageFCOS, "both1", nil, &testBootImage, true, ""},
		{"hypervisor only", config.ImageVelaOS, "hyper1", nil, &testBootImage, false, ""},
		{"switched off", config.ImageVelaOS, "member1", &off, &testBootImage, false, ""},
		{"no boot images given", config.ImageVelaOS, "member1", nil, nil, false, ""},
		{"custom image", config.ImageCustom, "member1", nil, &testBootImage, false, ""},
		{"vela-os needs no rootfs hash", config.ImageVelaOS, "member1", nil, &noRootfs, true, ""},
		{"fcos needs the rootfs hash", config.ImageFCOS, "member1", nil, &noRootfs, false, "fcos rootfs hash"},
		{"bad hash", config.ImageVelaOS, "member1", nil, &badHash, false, "initramfs hash \"sha512-nope\" is not a hex sha256"},
		{"no iPXE binaries given", config.ImageVelaOS, "member1", nil, &noIPXE, true, ""},
		{"bad iPXE name", config.ImageVelaOS, "member1", nil, &badIPXE, false, "iPXE binary \"../undionly.kpxe\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadTestConfig(t, tc.image)
			if tc.image == config.ImageCustom {
				cfg.OS.Kernel, cfg.OS.Initramfs = "k", "i"
			}
			cfg.PXE.Day2 = tc.day2
			in := testInput(t, cfg, tc.machine)
			in.BootImage = tc.boot
			out, err := Render(in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := parse(t, out)
			var execStart string
			for _, u := range c.Systemd.Units {
				if u.Name == "vela-server.service" && u.Contents != nil {
					for _, l := range strings.Split(*u.Contents, "\n") {
						if strings.HasPrefix(l, "ExecStart=") {
							execStart = l
						}
					}
				}
			}
			if got := strings.Contains(execStart, "--boot-interface auto --boot-images "+BootImagesDir); got != tc.wantOn {
				t.Errorf("day-2 flags = %v, want %v: %s", got, tc.wantOn, execStart)
			}
			wantTFTP := tc.wantOn && len(tc.boot.IPXE) > 0
			if got := strings.Contains(execStart, " --boot-tftp-root "+IPXEDir); got != wantTFTP {
				t.Errorf("--boot-tftp-root = %v, want %v: %s", got, wantTFTP, execStart)
			}
			files := map[string]bool{}
			for _, f := range c.Storage.Files {
				files[f.Path] = true
			}
			dir := BootImagesDir + "/" + tc.image + "/current/"
			if files[dir+"kernel"] != tc.wantOn || files[dir+"initramfs"] != tc.wantOn {
				t.Errorf("kernel/initramfs fetched = %v/%v, want %v", files[dir+"kernel"], files[dir+"initramfs"], tc.wantOn)
			}
			linked := len(c.Storage.Links) == 1 && c.Storage.Links[0].Path == dir+"rootfs" && *c.Storage.Links[0].Target == LiveRootfsPath
			if want := tc.wantOn && tc.image == config.ImageVelaOS; linked != want || files[dir+"rootfs"] != (tc.wantOn && tc.image == config.ImageFCOS) {
				t.Errorf("rootfs linked = %v (want %v), fetched = %v; links %+v", linked, want, files[dir+"rootfs"], c.Storage.Links)
			}
		})
	}
}
