package node

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"text/template"
)

// InitPath is the node's first process, written into its root by Prepare.
const InitPath = "/sbin/vela-node-init"

// ToolsTarget is where the host's tools directory (the vela binary that
// serves the authorization plugin) appears, read-only, in every node.
const ToolsTarget = "/opt/vela"

// Paths are the host directories a node's domain mounts.
type Paths struct {
	Root  string // the node's root filesystem
	Disk  string // the node's disk mount; its docker/ is the node's /var/lib/docker
	Tools string // shared read-only tools, mounted at ToolsTarget
}

// DomainXML renders the LXC domain of a node.
func DomainXML(s Spec, p Paths) (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	var b bytes.Buffer
	err := domainTmpl.Execute(&b, struct {
		Spec
		MemoryKiB       uint64
		CPUPeriod       int
		CPUQuota        int
		MAC, Root, Disk string
		Tools, ToolsAt  string
		Init            string
		IDBase, IDCount int
		Prefix          int
	}{s, s.MemoryBytes / 1024, 100000, 100000 * s.VCPUs, s.MAC(), p.Root, p.Disk, p.Tools, ToolsTarget, InitPath,
		IDMapBase, IDMapCount, s.Address.Bits()})
	if err != nil {
		return "", fmt.Errorf("node %q: render domain XML: %w", s.Name, err)
	}
	return b.String(), nil
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

var domainTmpl = template.Must(template.New("domain").Funcs(template.FuncMap{"x": esc}).Parse(
	`<domain type='lxc'>
  <name>{{x .Name}}</name>
  <uuid>{{.UUID}}</uuid>
  <description>vela node of tenant {{x .Tenant}}</description>
  <metadata>
    <vela:node xmlns:vela='https://vela-appliance.dev/xmlns/node/1'>
      <vela:tenant>{{x .Tenant}}</vela:tenant>
    </vela:node>
  </metadata>
  <memory unit='KiB'>{{.MemoryKiB}}</memory>
  <currentMemory unit='KiB'>{{.MemoryKiB}}</currentMemory>
  <memtune>
    <hard_limit unit='KiB'>{{.MemoryKiB}}</hard_limit>
    <swap_hard_limit unit='KiB'>{{.MemoryKiB}}</swap_hard_limit>
  </memtune>
  <vcpu placement='static'>{{.VCPUs}}</vcpu>
  <cputune>
    <period>{{.CPUPeriod}}</period>
    <quota>{{.CPUQuota}}</quota>
  </cputune>
  <os>
    <type arch='x86_64'>exe</type>
    <init>{{.Init}}</init>
  </os>
{{- if not .Privileged}}
  <idmap>
    <uid start='0' target='{{.IDBase}}' count='{{.IDCount}}'/>
    <gid start='0' target='{{.IDBase}}' count='{{.IDCount}}'/>
  </idmap>
{{- end}}
  <features>
    <capabilities policy='allow'/>
  </features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <filesystem type='mount' accessmode='passthrough'>
      <source dir='{{x .Root}}'/>
      <target dir='/'/>
    </filesystem>
    <filesystem type='mount' accessmode='passthrough'>
      <source dir='{{x .Disk}}/docker'/>
      <target dir='/var/lib/docker'/>
    </filesystem>
    <filesystem type='mount' accessmode='passthrough'>
      <source dir='{{x .Tools}}'/>
      <target dir='{{.ToolsAt}}'/>
      <readonly/>
    </filesystem>
    <interface type='bridge'>
      <mac address='{{.MAC}}'/>
      <source bridge='{{x .Bridge}}'/>
      <ip address='{{.Address.Addr}}' family='ipv4' prefix='{{.Prefix}}'/>
      <route family='ipv4' address='0.0.0.0' prefix='0' gateway='{{.Gateway}}'/>
      <guest dev='eth0'/>
    </interface>
    <console type='pty'/>
  </devices>
</domain>
`))
