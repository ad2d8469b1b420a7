package tui

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/term"
)

// IsTerminal tells whether f is a terminal.
func IsTerminal(f *os.File) bool { return f != nil && term.IsTerminal(f.Fd()) }

// NeedsAccessible tells whether the terminal on f cannot take full-screen
// drawing: TERM is dumb or unset, or f is a serial console (ttyS*, ttyUSB*,
// ttyAMA*, hvc*, or /dev/console itself). getenv is os.Getenv in the product.
func NeedsAccessible(f *os.File, getenv func(string) string) bool {
	switch getenv("TERM") {
	case "", "dumb":
		return true
	}
	if f == nil {
		return false
	}
	name, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		return false
	}
	return SerialDevice(name)
}

// SerialDevice tells whether a device path is a serial or hypervisor console.
func SerialDevice(path string) bool {
	if path == "/dev/console" {
		return true
	}
	base := filepath.Base(path)
	for _, p := range []string{"ttyS", "ttyUSB", "ttyAMA", "ttyACM", "hvc", "ttysclp"} {
		if strings.HasPrefix(base, p) {
			return true
		}
	}
	return false
}
