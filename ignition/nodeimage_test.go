package ignition

import (
	"strings"
	"testing"

	"github.com/vela-appliance/vela/installer/config"
)

// TestNodeImage: who fetches the node image and who mounts it. Hypervisors
// do both; a member that serves day-2 boot keeps a copy to serve the
// hypervisors admitted later, without the mount unit.
func TestNodeImage(t *testing.T) {
	off := false
	noHypervisors := func(c *config.Config) {
		var ms []config.Machine
		for _, m := range c.Machines {
			if m.IsMember() {
				m.Role = config.RoleMember
				ms = append(ms, m)
			}
		}
		c.Machines = ms
	}
	const mount = "var-lib-vela-images-node-rootfs.mount"
	for _, tc := range []struct {
		name, image, machine string
		edit                 func(*config.Config)
		noBootImage          bool
		hash                 string // "" the test image's
		wantFetch, wantMount bool
		wantErr              string
	}{
		{name: "hypervisor", image: config.ImageVelaOS, machine: "hyper1", wantFetch: true, wantMount: true},
		{name: "both", image: config.ImageVelaOS, machine: "both1", wantFetch: true, wantMount: true},
		{name: "member serving day 2", image: config.ImageVelaOS, machine: "member1", wantFetch: true},
		{name: "fcos member serving day 2", image: config.ImageFCOS, machine: "member1", wantFetch: true},
		{name: "member, day 2 off", image: config.ImageVelaOS, machine: "member1", edit: func(c *config.Config) { c.PXE.Day2 = &off }},
		{name: "member without boot images", image: config.ImageVelaOS, machine: "member1", noBootImage: true},
		{name: "member, install without hypervisors", image: config.ImageVelaOS, machine: "member1", edit: noHypervisors},
		{name: "hypervisor, day 2 off", image: config.ImageVelaOS, machine: "hyper1", edit: func(c *config.Config) { c.PXE.Day2 = &off }, wantFetch: true, wantMount: true},
		{name: "no node image given", image: config.ImageVelaOS, machine: "hyper1", hash: "none"},
		{name: "member, bad hash", image: config.ImageVelaOS, machine: "member1", hash: strings.Repeat("z", 128), wantErr: "node image hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadTestConfig(t, tc.image)
			if tc.edit != nil {
				tc.edit(cfg)
			}
			in := testInput(t, cfg, tc.machine)
			if tc.noBootImage {
				in.BootImage = nil
			}
			switch tc.hash {
			case "":
			case "none":
				in.NodeImageSHA512 = ""
			default:
				in.NodeImageSHA512 = tc.hash
			}
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
			fetched := false
			for _, f := range c.Storage.Files {
				if f.Path != NodeImagePath {
					continue
				}
				fetched = true
				if src := f.Contents.Source; src == nil || *src != "http://10.20.0.1:80"+NodeImageURLPath {
					t.Errorf("%s source = %v, want the boot server's %s", NodeImagePath, src, NodeImageURLPath)
				}
				if h := f.Contents.Verification.Hash; h == nil || *h != "sha512-"+testNodeImageHash() {
					t.Errorf("%s hash = %v, want the node image's sha512", NodeImagePath, h)
				}
			}
			mounted, agentNeeds := false, false
			for _, u := range c.Systemd.Units {
				if u.Name == mount {
					mounted = true
				}
				if u.Name == "vela-agent.service" && u.Contents != nil && strings.Contains(*u.Contents, mount) {
					agentNeeds = true
				}
			}
			if fetched != tc.wantFetch || mounted != tc.wantMount || agentNeeds != tc.wantMount {
				t.Errorf("fetched %v mounted %v (agent needs it %v), want %v %v", fetched, mounted, agentNeeds, tc.wantFetch, tc.wantMount)
			}
		})
	}
}
