package ignition

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/installer/config"
)

func TestInstallArgs(t *testing.T) {
	const url = "http://10.20.0.1:80/ignition/0c:c4:7a:10:00:02?token=abc"
	disk := config.Machine{Name: "n", Disk: "/dev/sda"}
	for _, tc := range []struct {
		image string
		m     config.Machine
		want  []string
	}{
		{config.ImageFCOS, disk, []string{"coreos.inst.install_dev=/dev/sda", "coreos.inst.ignition_url=" + url}},
		{config.ImageVelaOS, disk, []string{"vela.install_dev=/dev/sda"}},
		{config.ImageFCOS, config.Machine{Name: "live"}, nil},
		{config.ImageCustom, disk, nil},
	} {
		if diff := cmp.Diff(tc.want, InstallArgs(tc.image, tc.m, url)); diff != "" {
			t.Errorf("%s %+v (-want +got):\n%s", tc.image, tc.m, diff)
		}
	}
}
