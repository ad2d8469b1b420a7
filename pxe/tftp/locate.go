package tftp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Boot files firmware PXE fetches, from Debian's ipxe package.
const (
	FileBIOS    = "undionly.kpxe" // BIOS PXE (client arch 0)
	FileEFI     = "snponly.efi"   // x86-64 UEFI, uses the firmware's NIC driver
	FileEFIFull = "ipxe.efi"      // x86-64 UEFI with iPXE's own drivers
)

// IPXEDirs are where Debian's ipxe package puts its binaries.
var IPXEDirs = []string{"/usr/lib/ipxe", "/usr/share/ipxe"}

// LocateIPXE returns the first of dirs holding the BIOS and UEFI iPXE
// binaries, so the server never needs to download them.
func LocateIPXE(dirs ...string) (string, error) {
	if len(dirs) == 0 {
		dirs = IPXEDirs
	}
	for _, d := range dirs {
		ok := true
		for _, f := range []string{FileBIOS, FileEFI} {
			if st, err := os.Stat(filepath.Join(d, f)); err != nil || !st.Mode().IsRegular() {
				ok = false
			}
		}
		if ok {
			return d, nil
		}
	}
	return "", fmt.Errorf("iPXE binaries (%s, %s) not found in %s; install Debian's ipxe package (apt-get install ipxe) or pass --tftp-root",
		FileBIOS, FileEFI, strings.Join(dirs, ", "))
}
