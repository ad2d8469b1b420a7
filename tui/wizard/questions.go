package wizard

import (
	"fmt"
	"strings"

	"github.com/vela-appliance/vela/installer/config"
)

type kind int

const (
	kindInput kind = iota
	kindChoice
	kindText
)

type option struct{ value, label string }

// question is one answer to collect; the full-screen form and the
// accessible prompts are both built from these.
type question struct {
	path    string // the config path the validator reports it under
	title   string
	help    string
	kind    kind
	options func(a *Answers) []option
	get     func(a *Answers) *string
	show    func(a Answers) bool // nil: always asked
}

// Screen IDs, in order.
const (
	ScreenWelcome = iota
	ScreenTarget
	ScreenNetwork
	ScreenOS
	ScreenMachines
	ScreenSSH
	ScreenPeople
	ScreenReview
	screenCount
)

var screenTitles = [screenCount]string{"Welcome", "Target", "Boot network", "OS image", "Machines", "SSH keys", "Admin and first tenant", "Review and save"}

func isLab(a Answers) bool  { return a.Target == TargetLab }
func isRack(a Answers) bool { return a.Target != TargetLab }

func fixed(opts ...option) func(*Answers) []option { return func(*Answers) []option { return opts } }

// questions returns the questions of a form screen; ifs are the host's
// interfaces offered on the network screen.
func questions(screen int, ifs []Interface) []question {
	switch screen {
	case ScreenTarget:
		return []question{
			{path: "lab", title: "Where does the appliance run?", kind: kindChoice,
				help:    "rack: bare-metal machines that network-boot from this host. lab: qemu VMs on a private bridge of this host stand in for them.",
				options: fixed(option{TargetRack, "rack: bare metal on a boot network"}, option{TargetLab, "lab: VMs on this host"}),
				get:     func(a *Answers) *string { return &a.Target }},
			{path: "name", title: "Appliance name", help: "A DNS label: lowercase letters, digits and hyphens.",
				get: func(a *Answers) *string { return &a.Name }},
		}
	case ScreenNetwork:
		return []question{
			{path: "network.interface", title: "Boot network interface", kind: kindChoice, show: isRack,
				help: "The host interface on the network the machines boot from.",
				options: func(*Answers) []option {
					var out []option
					for _, it := range ifs {
						label := it.Name
						if len(it.Addrs) > 0 {
							label += "  " + it.Addrs[0].String()
						}
						if it.DefaultRoute {
							label += "  (default route)"
						}
						out = append(out, option{it.Name, label})
					}
					return out
				},
				get: func(a *Answers) *string { return &a.Interface }},
			{path: "lab.bridge", title: "Lab bridge name", show: isLab, help: "Created by the install; nothing outside this host sees it.",
				get: func(a *Answers) *string { return &a.LabBridge }},
			{path: "network.address", title: "This host's address on the boot network", help: "With its prefix length, e.g. 10.0.0.1/24.",
				get: func(a *Answers) *string { return &a.Address }},
			{path: "network.dhcp.mode", title: "DHCP mode", kind: kindChoice,
				help: "full: Vela is the only DHCP server and hands out addresses from a pool. " +
					"proxy: another DHCP server keeps handing out addresses; Vela only adds the boot options. off: no DHCP from Vela.",
				options: fixed(option{config.DHCPFull, "full: Vela hands out addresses"}, option{config.DHCPProxy, "proxy: beside your DHCP server"}, option{config.DHCPOff, "off: no DHCP from Vela"}),
				get:     func(a *Answers) *string { return &a.DHCPMode }},
			{path: "network.dhcp.pool", title: "DHCP pool", help: "FIRST-LAST inside the subnet, e.g. 10.0.0.100-10.0.0.199.",
				show: func(a Answers) bool { return a.DHCPMode == config.DHCPFull },
				get:  func(a *Answers) *string { return &a.Pool }},
			{path: "network.gateway", title: "Gateway for the machines (optional)", get: func(a *Answers) *string { return &a.Gateway }},
			{path: "network.dns", title: "DNS servers (optional, comma separated)", get: func(a *Answers) *string { return &a.DNS }},
		}
	case ScreenOS:
		return []question{
			{path: "os.image", title: "Operating system", kind: kindChoice,
				help:    "vela-os is built on this host from Debian packages and works offline.",
				options: fixed(option{config.ImageVelaOS, "vela-os (default, offline)"}, option{config.ImageFCOS, "Fedora CoreOS"}, option{config.ImageCustom, "custom kernel and initramfs"}),
				get:     func(a *Answers) *string { return &a.Image }},
			{path: "os.kernel", title: "Kernel file", show: isCustom, get: func(a *Answers) *string { return &a.Kernel }},
			{path: "os.initramfs", title: "Initramfs file", show: isCustom, get: func(a *Answers) *string { return &a.Initramfs }},
			{path: "os.rootfs", title: "Root image (optional)", show: isCustom, get: func(a *Answers) *string { return &a.Rootfs }},
			{path: "os.kernel_args", title: "Extra kernel arguments (optional)", help: "e.g. console=ttyS0,115200",
				get: func(a *Answers) *string { return &a.KernelArgs }},
		}
	case ScreenSSH:
		return []question{
			{path: "ssh_authorized_keys", title: "SSH public keys (one per line)", kind: kindText,
				help: "Allowed to log in as core on every machine. Paste the line of your .pub file, or give a file below.",
				get:  func(a *Answers) *string { return &a.SSHKeys }},
			{path: "ssh_authorized_keys", title: "…or a public key file (optional)", help: "e.g. /root/.ssh/id_ed25519.pub; its keys are added.",
				get: func(a *Answers) *string { return &a.SSHKeyFile }},
		}
	case ScreenPeople:
		return []question{
			{path: "admin.name", title: "Administrator name", get: func(a *Answers) *string { return &a.Admin }},
			{path: "tenant.name", title: "First tenant (optional)", help: "An account that owns clusters; empty creates none.",
				get: func(a *Answers) *string { return &a.Tenant }},
			{path: "tenant.cluster", title: "Its first cluster (optional)", help: "A Docker Swarm of LXC nodes; empty creates none.",
				get: func(a *Answers) *string { return &a.Cluster }},
			{path: "tenant.cluster.nodes", title: "Nodes in that cluster", help: "1 to 10.",
				show: func(a Answers) bool { return strings.TrimSpace(a.Cluster) != "" },
				get:  func(a *Answers) *string { return &a.Nodes }},
		}
	}
	return nil
}

func isCustom(a Answers) bool { return a.Image == config.ImageCustom }

// checkValue validates value as the answer to q, given the other answers.
func checkValue(a Answers, q question, value string) error {
	*q.get(&a) = value
	if q.get(&a) == &a.SSHKeyFile {
		if err := readKeyFile(&a); err != nil {
			return err
		}
	}
	return a.Check(q.path)
}

// readKeyFile appends the keys of SSHKeyFile to SSHKeys (the one piece of
// I/O an answer needs; it only reads a file the operator named).
func readKeyFile(a *Answers) error {
	path := strings.TrimSpace(a.SSHKeyFile)
	if path == "" {
		return nil
	}
	b, err := readSmallFile(path)
	if err != nil {
		return fmt.Errorf("%s: %v; give the path of a .pub file", path, err)
	}
	a.SSHKeys = strings.TrimRight(a.SSHKeys, "\n")
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.Contains(a.SSHKeys, l) {
			if a.SSHKeys != "" {
				a.SSHKeys += "\n"
			}
			a.SSHKeys += l
		}
	}
	return nil
}
