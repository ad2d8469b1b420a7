package dhcp

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// Stage is the boot stage a DHCP client is at.
type Stage int

// Boot stages.
const (
	StageOS       Stage = iota // an OS (or anything not booting): a plain lease
	StageFirmware              // firmware PXE: gets an iPXE binary over TFTP
	StageIPXE                  // iPXE: gets the HTTP URL of its script
)

func (s Stage) String() string {
	return [...]string{"os", "firmware", "ipxe"}[s]
}

// Boot files over TFTP, per firmware (Debian's ipxe package names).
const (
	FileBIOS = "undionly.kpxe"
	FileEFI  = "snponly.efi"
)

// DetectStage tells the boot stage from the request: user class "iPXE"
// first (the chained iPXE also says PXEClient), then vendor class PXEClient.
func DetectStage(req *dhcpv4.DHCPv4) Stage {
	if uc := req.Options.Get(dhcpv4.OptionUserClassInformation); bytes.Contains(uc, []byte("iPXE")) {
		return StageIPXE
	}
	if strings.HasPrefix(req.ClassIdentifier(), "PXEClient") {
		return StageFirmware
	}
	return StageOS
}

// Arch names the client architecture (option 93) for logs and discovery.
func Arch(req *dhcpv4.DHCPv4) string {
	archs := req.ClientArch()
	if len(archs) == 0 {
		return ""
	}
	switch archs[0] {
	case iana.INTEL_X86PC:
		return "bios"
	case iana.EFI_X86_64, iana.EFI_BC:
		return "x86_64-efi"
	case iana.EFI_IA32:
		return "i386-efi"
	case iana.EFI_ARM64:
		return "arm64-efi"
	case iana.EFI_X86_64_HTTP:
		return "x86_64-efi-http"
	}
	return fmt.Sprintf("arch-%d", uint16(archs[0]))
}

// FirmwareFile is the iPXE binary for the client's firmware, or "" when
// Debian's ipxe package has none for it.
func FirmwareFile(req *dhcpv4.DHCPv4) string {
	archs := req.ClientArch()
	if len(archs) == 0 {
		return FileBIOS // PXE 2.1 clients that omit option 93 are BIOS
	}
	switch archs[0] {
	case iana.INTEL_X86PC:
		return FileBIOS
	case iana.EFI_X86_64, iana.EFI_BC:
		return FileEFI
	}
	return ""
}

// MachineUUID decodes option 97 (type 0 + 16-byte SMBIOS UUID) the way
// dmidecode prints it: the first three fields little-endian.
func MachineUUID(req *dhcpv4.DHCPv4) string {
	b := req.Options.Get(dhcpv4.OptionClientMachineIdentifier)
	if len(b) != 17 || b[0] != 0 {
		return ""
	}
	u := b[1:]
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%x-%x",
		u[3], u[2], u[1], u[0], u[5], u[4], u[7], u[6], u[8:10], u[10:16])
}

// pxeVendorOptions is option 43 for proxy offers: PXE_DISCOVERY_CONTROL
// (sub-option 6) = 8, "take the boot file from this offer", so firmware
// needs no round trip to port 4011.
var pxeVendorOptions = []byte{6, 1, 8, 255}
