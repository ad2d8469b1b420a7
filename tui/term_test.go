package tui

import (
	"os"
	"testing"
)

func TestSerialDevice(t *testing.T) {
	for path, want := range map[string]bool{
		"/dev/ttyS0": true, "/dev/ttyUSB1": true, "/dev/ttyAMA0": true, "/dev/hvc0": true, "/dev/console": true,
		"/dev/pts/3": false, "/dev/tty1": false, "/dev/null": false,
	} {
		if got := SerialDevice(path); got != want {
			t.Errorf("SerialDevice(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestNeedsAccessible(t *testing.T) {
	env := func(term string) func(string) string {
		return func(k string) string {
			if k == "TERM" {
				return term
			}
			return ""
		}
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for term, want := range map[string]bool{"dumb": true, "": true, "xterm-256color": false, "linux": false} {
		if got := NeedsAccessible(f, env(term)); got != want {
			t.Errorf("TERM=%q: NeedsAccessible = %v, want %v", term, got, want)
		}
	}
	if IsTerminal(f) {
		t.Error("/dev/null is not a terminal")
	}
}
