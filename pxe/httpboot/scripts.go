package httpboot

import (
	"bytes"
	"strings"
	"text/template"
)

// script is what an iPXE script is made from.
type script struct {
	Base, MAC, Name, Image, Args string
}

var scripts = template.Must(template.New("").Parse(`
{{define "chain"}}#!ipxe
# vela: identify this machine, then fetch its own script
chain --replace --autofree {{.Base}}/boot.ipxe?mac=${mac:hexhyp}&uuid=${uuid}&arch=${buildarch}
{{end}}
{{define "boot"}}#!ipxe
# vela: machine {{.Name}} ({{.MAC}}), image {{.Image}}
echo vela: booting {{.Name}}
kernel --name kernel {{.Base}}/images/{{.Image}}/kernel?mac={{.MAC}} initrd=initramfs {{.Args}} || goto failed
initrd --name initramfs {{.Base}}/images/{{.Image}}/initramfs?mac={{.MAC}} || goto failed
boot || goto failed
:failed
echo vela: booting {{.Name}} failed; retrying in 10 s
sleep 10
chain --replace --autofree {{.Base}}/boot.ipxe?mac={{.MAC}}
{{end}}
{{define "disk"}}#!ipxe
# vela: machine {{.Name}} ({{.MAC}}) is installed: boot from its disk
echo vela: {{.Name}} is installed; booting from disk
exit
{{end}}
{{define "unknown"}}#!ipxe
# vela: {{.MAC}} is not a machine of this appliance
:retry
echo vela: this machine ({{.MAC}}) is not in the install config, so it gets no OS.
echo vela: it was recorded as discovered (see: vela machines ls); add it to machines[] to boot it.
echo vela: asking again in 60 s
sleep 60
chain --replace --autofree {{.Base}}/boot.ipxe?mac={{.MAC}} || goto retry
{{end}}
`))

func render(name string, s script) []byte {
	var b bytes.Buffer
	if err := scripts.ExecuteTemplate(&b, name, s); err != nil {
		panic("httpboot: template " + name + ": " + err.Error()) // the templates are constants
	}
	return []byte(strings.TrimLeft(b.String(), "\n"))
}
