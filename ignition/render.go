package ignition

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"regexp"
	"strings"
	"text/template"
	"time"

	cjson "github.com/clarketm/json"
	butane "github.com/coreos/butane/config"
	"github.com/coreos/butane/config/common"
	"github.com/coreos/ignition/v2/config/merge"
	ign "github.com/coreos/ignition/v2/config/v3_5"
	"github.com/coreos/ignition/v2/config/v3_5/types"

	"github.com/vela-appliance/vela/installer/config"
)

// Paths and names other packages rely on.
const (
	// SpecVersion is the Ignition spec version every rendered config has.
	SpecVersion = "3.5.0"
	// TokenPath holds the machine's join token on the machine: a member's
	// member token, or a hypervisor-only machine's agent token.
	TokenPath = "/etc/vela/join-token"
	// AgentTokenPath holds the agent token of a machine that is both a
	// member and a hypervisor (each role joins once, with its own token).
	AgentTokenPath = "/etc/vela/agent-token"
	// JoinRecordsPath and APIRecordsPath hold, on the bootstrap member
	// only, the records (hashes) of the tokens the installer made.
	JoinRecordsPath = "/etc/vela/bootstrap/join-tokens.json"
	APIRecordsPath  = "/etc/vela/bootstrap/api-tokens.json"
	// CAKeyFetchPath is where the bootstrap member's vela-secret unit puts
	// the CA key it fetches once from the seed (a tmpfs).
	CAKeyFetchPath = "/run/vela/ca-key.pem"
	// CAKeySecret is the one-time secret's name at the boot server.
	CAKeySecret = "ca-key.pem"
	// CAPath holds the cluster CA certificate on the machine.
	CAPath = "/etc/vela/ca.pem"
	// VelaPath is where the vela binary is installed on the machine.
	VelaPath = "/usr/local/bin/vela"
	// VelaURLPath is the boot server path of the vela binary.
	VelaURLPath = "/vela/vela"
	// LibvirtImageURLPath is the boot server path of the libvirtd container
	// image that fcos hypervisors load (vela-os has libvirtd installed).
	LibvirtImageURLPath = "/images/libvirtd/rootfs"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{"q": quote}).
	ParseFS(templateFS, "templates/*.tmpl"))

// quote writes s as a JSON string, which is also a YAML double-quoted scalar.
func quote(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// Input is everything needed to render one machine's config.
type Input struct {
	Config     *config.Config // defaulted and validated install config
	BaseDir    string         // directory of the config file: snippet paths are relative to it
	Machine    string         // name of the machine in Config.Machines
	BootURL    string         // boot server base URL, http://ADDR:PORT
	VelaSHA512 string         // hex sha512 of the vela binary served at BootURL/vela/vela
	CACert     []byte         // cluster CA certificate, PEM (never the key)
	// JoinToken is this machine's single-use join token: the member token
	// of a member, the agent token of a hypervisor-only machine.
	JoinToken string
	// AgentToken is the agent token of a machine that is both a member and
	// a hypervisor (required then; ignored otherwise).
	AgentToken string
	// NodeImageSHA512 is the hex sha512 of the packed node image the boot
	// server serves at /images/node/rootfs; hypervisors fetch it with
	// Ignition and mount it for the agent, members that serve day-2 boot
	// keep a copy to serve it in turn (see nodeImageData). "" leaves it out
	// (the operator provides the node image another way).
	NodeImageSHA512 string
	// BootImage turns on day-2 network boot on a member (pxe.day2, the
	// default): its kernel and initramfs are fetched from BootURL, and its
	// vela server serves them while it leads. nil leaves day-2 boot off.
	BootImage *BootImage
	// Bootstrap is what the first member starts the cluster with: the
	// records (hashes only, JSON arrays) of the join and API tokens made
	// ahead of time. Optional; without it the other machines cannot join
	// with tokens made before the cluster existed.
	Bootstrap *BootstrapRecords
}

// BootstrapRecords are the token records the bootstrap member loads.
type BootstrapRecords struct {
	JoinTokens, APITokens []byte
}

// data is what the Butane templates see.
type data struct {
	Hostname, MAC      string
	Member, Hypervisor bool
	Bootstrap          bool   // first member: bootstraps Raft
	Static             bool   // fixed address (else DHCP)
	NeedAddr           bool   // a DHCP member: vela-addr.service finds its address
	Addr               string // own IP, or ${VELA_ADDR} for DHCP machines
	CIDR, Gateway      string
	DNS                []string
	SeedIP             string
	JoinAddr           string // the first member's address
	APIPort, RaftPort  int
	RaftTimeout        string // member: --raft-timeout ("" keeps the default)
	SSHKeys            []string
	VelaURL, VelaHash  string
	CACert, JoinToken  string
	TokenPath          string
	AgentToken         string // only when it differs from JoinToken's file
	AgentTokenPath     string
	JoinRecords        string // bootstrap member: records to load
	APIRecords         string
	CAKeyFetch         bool   // bootstrap member: fetch the CA key once from the seed
	DataDisk           string // hypervisor: device for node disks
	AgentFlags         string // hypervisor: the node memory policy
	NodeImageURL       string
	NodeImageHash      string
	JoinRecordsPath    string
	APIRecordsPath     string
	CAKeySecret        string
	CAKeyFetchPath     string
	LibvirtUnit        string
	LibvirtImageURL    string
	InstallDisk        string
	KernelArgs         []string
	Day2               day2 // member: day-2 network boot
}

var (
	hexSHA512RE = regexp.MustCompile(`^[0-9a-f]{128}$`)
	tokenRE     = regexp.MustCompile(`^[A-Za-z0-9._~+/=-]{16,512}$`)
	hostnameRE  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// Render returns the validated Ignition JSON (spec 3.5.0) of one machine:
// its template filled in and translated, the operator snippets merged in.
func Render(in Input) ([]byte, error) {
	cfg, err := renderConfig(in)
	if err != nil {
		return nil, err
	}
	return marshalValid(in.Machine, cfg)
}

func renderConfig(in Input) (types.Config, error) {
	base, err := baseConfig(in)
	if err != nil {
		return types.Config{}, err
	}
	snips, err := loadSnippets(in.Config, in.BaseDir)
	if err != nil {
		return types.Config{}, err
	}
	return mergeSnippets(base, snips)
}

// baseConfig is Vela's own config of the machine, before snippets.
func baseConfig(in Input) (types.Config, error) {
	d, err := newData(in)
	if err != nil {
		return types.Config{}, err
	}
	bu, err := butaneFor(Variant(in.Config.OS.Image), d)
	if err != nil {
		return types.Config{}, fmt.Errorf("machine %q: %w", in.Machine, err)
	}
	base, err := translateTemplate(in.Config.OS.Image, bu)
	if err != nil {
		return types.Config{}, fmt.Errorf("machine %q: %w", in.Machine, err)
	}
	return base, nil
}

// placeholderInput renders a machine's own entries without real secrets,
// to learn which paths and units Vela writes (nothing rendered with it is served).
func placeholderInput(c *config.Config, baseDir, machine string) Input {
	return Input{Config: c, BaseDir: baseDir, Machine: machine, BootURL: "http://placeholder",
		VelaSHA512: strings.Repeat("0", 128), JoinToken: "placeholder-token-not-a-secret", AgentToken: "placeholder-agent-token-not-a-secret",
		CACert: []byte("-----BEGIN CERTIFICATE-----\nplaceholder\n-----END CERTIFICATE-----\n")}
}

func newData(in Input) (data, error) {
	c := in.Config
	if c == nil {
		return data{}, errors.New("no install config given to render")
	}
	m, ok := c.Machine(in.Machine)
	if !ok {
		return data{}, fmt.Errorf("machine %q is not in the install config; `vela config validate` lists the machines", in.Machine)
	}
	if !hostnameRE.MatchString(m.Name) {
		return data{}, fmt.Errorf("machine %q: the name is not a valid hostname; use 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit", m.Name)
	}
	if c.OS.Image != config.ImageVelaOS && c.OS.Image != config.ImageFCOS && c.OS.Image != config.ImageCustom {
		return data{}, fmt.Errorf("machine %q: os.image %q has no Vela template; use vela-os, fcos or custom", m.Name, c.OS.Image)
	}
	if !hexSHA512RE.MatchString(in.VelaSHA512) {
		return data{}, fmt.Errorf("machine %q: vela binary hash %q is not a hex sha512; pass the sha512sum of the binary the boot server serves", m.Name, in.VelaSHA512)
	}
	if !tokenRE.MatchString(in.JoinToken) {
		return data{}, fmt.Errorf("machine %q: join token is missing or malformed (want 16-512 URL-safe characters)", m.Name)
	}
	if !bytes.Contains(in.CACert, []byte("-----BEGIN CERTIFICATE-----")) {
		return data{}, fmt.Errorf("machine %q: the CA certificate is not a PEM certificate; pass the cluster CA's certificate (never its key)", m.Name)
	}
	if bytes.Contains(in.CACert, []byte("PRIVATE KEY")) {
		return data{}, fmt.Errorf("machine %q: the CA certificate file holds a private key; pass only the certificate", m.Name)
	}
	boot := strings.TrimRight(in.BootURL, "/")
	if !strings.HasPrefix(boot, "http://") && !strings.HasPrefix(boot, "https://") {
		return data{}, fmt.Errorf("machine %q: boot URL %q is not http://ADDR:PORT", m.Name, in.BootURL)
	}
	seed, err := netip.ParsePrefix(c.Network.Address)
	if err != nil {
		return data{}, fmt.Errorf("network.address %q: %v; run `vela config validate`", c.Network.Address, err)
	}
	d := data{
		Hostname: m.Name, MAC: config.NormalizeMAC(m.MAC),
		Member: m.IsMember(), Hypervisor: m.IsHypervisor(), Static: m.Static(),
		Gateway: c.Network.Gateway, DNS: c.Network.DNS, SeedIP: seed.Addr().String(),
		APIPort: c.ControlPlane.APIPort, RaftPort: c.ControlPlane.RaftPort,
		SSHKeys: c.SSHAuthorizedKeys, VelaURL: boot + VelaURLPath, VelaHash: "sha512-" + in.VelaSHA512,
		CACert: string(in.CACert), JoinToken: in.JoinToken, TokenPath: TokenPath,
		JoinRecordsPath: JoinRecordsPath, APIRecordsPath: APIRecordsPath, CAKeySecret: CAKeySecret, CAKeyFetchPath: CAKeyFetchPath,
		LibvirtImageURL: boot + LibvirtImageURLPath, InstallDisk: m.Disk,
		KernelArgs: strings.Fields(c.OS.KernelArgs),
	}
	if t := c.ControlPlane.RaftTimeout; t != 0 {
		d.RaftTimeout = time.Duration(t).String()
	}
	d.Addr = "${VELA_ADDR}"
	d.NeedAddr = d.Member && !d.Static
	if d.Static {
		d.Addr = m.Address
		d.CIDR = fmt.Sprintf("%s/%d", m.Address, seed.Bits())
	}
	d.LibvirtUnit = "libvirtd.service"
	if c.OS.Image == config.ImageFCOS {
		d.LibvirtUnit = "vela-libvirtd.service"
	}
	first, err := bootstrapMember(c)
	if err != nil {
		return data{}, err
	}
	d.Bootstrap = first.Name == m.Name && d.Member
	d.AgentTokenPath = TokenPath
	if d.Member && d.Hypervisor {
		if !tokenRE.MatchString(in.AgentToken) {
			return data{}, fmt.Errorf("machine %q: it is a member and a hypervisor, and its agent token is missing or malformed (want 16-512 URL-safe characters)", m.Name)
		}
		d.AgentToken, d.AgentTokenPath = in.AgentToken, AgentTokenPath
	}
	if d.Bootstrap && in.Bootstrap != nil {
		for what, b := range map[string][]byte{"join": in.Bootstrap.JoinTokens, "API": in.Bootstrap.APITokens} {
			if !json.Valid(b) || len(b) == 0 || b[0] != '[' {
				return data{}, fmt.Errorf("machine %q: the bootstrap %s token records are not a JSON array", m.Name, what)
			}
		}
		d.JoinRecords, d.APIRecords = string(in.Bootstrap.JoinTokens), string(in.Bootstrap.APITokens)
	}
	d.CAKeyFetch = d.Bootstrap
	if d.Hypervisor {
		d.DataDisk = m.DataDisk
		d.AgentFlags = agentFlags(c.Hypervisor)
	}
	if d.Day2, err = day2Data(in, m, boot); err != nil {
		return data{}, err
	}
	if d.NodeImageURL, d.NodeImageHash, err = nodeImageData(in, d, boot); err != nil {
		return data{}, err
	}
	switch {
	case first.Name == m.Name:
		d.JoinAddr = d.Addr
	case first.Static():
		d.JoinAddr = first.Address
	default:
		return data{}, fmt.Errorf("machine %q: the control plane's first member %q takes a DHCP address, so %q cannot find it; give %q a static address",
			m.Name, first.Name, m.Name, first.Name)
	}
	return d, nil
}

// bootstrapMember is the machine that bootstraps Raft: the first member in file order.
func bootstrapMember(c *config.Config) (config.Machine, error) {
	ms := c.Members()
	if len(ms) == 0 {
		return config.Machine{}, errors.New("no machine has role member or both; run `vela config validate`")
	}
	return ms[0], nil
}

// Variant is the template an OS image's machines get. A custom image gets
// vela-os's: it is expected to be a systemd distribution whose initramfs runs
// Ignition (docs/ignition.md says what it must provide).
func Variant(image string) string {
	if image == config.ImageFCOS {
		return config.ImageFCOS
	}
	return config.ImageVelaOS
}

// butaneFor fills the template of a variant.
func butaneFor(image string, d data) ([]byte, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, image+".bu.tmpl", d); err != nil {
		return nil, fmt.Errorf("filling the %s Butane template: %v", image, err)
	}
	return b.Bytes(), nil
}

// translateTemplate translates Vela's own Butane strictly: anything Butane
// reports, even a warning, is a bug in the template or an unsafe value.
func translateTemplate(image string, bu []byte) (types.Config, error) {
	out, rpt, err := butane.TranslateBytes(bu, common.TranslateBytesOptions{
		TranslateOptions: common.TranslateOptions{NoResourceAutoCompression: true},
	})
	if err != nil || len(rpt.Entries) > 0 {
		return types.Config{}, fmt.Errorf("the %s template did not translate cleanly: %v %s", image, err, strings.TrimSpace(rpt.String()))
	}
	cfg, rpt, err := ign.Parse(out)
	if err != nil || len(rpt.Entries) > 0 {
		return types.Config{}, fmt.Errorf("the %s template gives an invalid Ignition config: %v %s", image, err, strings.TrimSpace(rpt.String()))
	}
	return cfg, nil
}

// mergeSnippets merges each snippet's config over Vela's, refusing any
// snippet that would replace one of Vela's files, directories, links or units.
func mergeSnippets(base types.Config, snips []snippet) (types.Config, error) {
	owned := ownedEntries(base)
	for _, s := range snips {
		if err := checkConflicts(owned, s); err != nil {
			return types.Config{}, err
		}
		base = merge.MergeStruct(reflect.ValueOf(base), reflect.ValueOf(s.cfg)).Interface().(types.Config)
	}
	return base, nil
}

// marshalValid writes the config as JSON and runs Ignition's validator on
// the very bytes that will be served.
func marshalValid(machine string, cfg types.Config) ([]byte, error) {
	out, err := cjson.Marshal(cfg) // omits empty structs, as Butane does
	if err != nil {
		return nil, fmt.Errorf("machine %q: encoding the Ignition config: %v", machine, err)
	}
	if len(out) > MaxConfigSize {
		return nil, fmt.Errorf("machine %q: the rendered config is %d KiB, over the %d KiB limit; move large snippet contents behind a contents.source URL",
			machine, len(out)>>10, MaxConfigSize>>10)
	}
	if err := Validate(out); err != nil {
		return nil, fmt.Errorf("machine %q: %w", machine, err)
	}
	return out, nil
}

// Validate runs Ignition's own parser and validator on a rendered config: it
// must be spec 3.5.0 with no error and no warning.
func Validate(rendered []byte) error {
	_, rpt, err := ign.Parse(rendered)
	if err != nil || len(rpt.Entries) > 0 {
		return fmt.Errorf("the rendered Ignition config does not validate: %v %s", err, strings.TrimSpace(rpt.String()))
	}
	return nil
}

// agentFlags turns the hypervisor policy into vela agent flags (none for
// the agent's own defaults, so configs without a policy render as before).
func agentFlags(h config.Hypervisor) string {
	var fl []string
	if h.ReservedMemory != 0 && h.ReservedMemory != config.DefaultReservedMemory {
		fl = append(fl, "--reserved-memory "+h.ReservedMemory.String())
	}
	if h.NodeMemoryPercent != 0 && h.NodeMemoryPercent != config.DefaultNodeMemoryPercent {
		fl = append(fl, fmt.Sprintf("--memory-overcommit %.2f", float64(h.NodeMemoryPercent)/100))
	}
	if len(fl) == 0 {
		return ""
	}
	return " " + strings.Join(fl, " ")
}
