package tftp

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// MaxNameLen bounds a requested file name; longer names are refused.
const MaxNameLen = 255

// ErrBadName is wrapped by every name Resolve refuses.
var ErrBadName = errors.New("bad file name")

// Resolve turns a requested TFTP file name into a clean path relative to
// the served directory, or refuses it. It never touches the file system;
// os.Root then refuses symlinks that lead out of the directory.
func Resolve(name string) (string, error) {
	switch {
	case name == "":
		return "", fmt.Errorf("%w: empty", ErrBadName)
	case len(name) > MaxNameLen:
		return "", fmt.Errorf("%w: %d bytes long (at most %d)", ErrBadName, len(name), MaxNameLen)
	case strings.ContainsAny(name, "\x00\\"):
		return "", fmt.Errorf("%w: %q holds a NUL or a backslash", ErrBadName, name)
	case strings.HasPrefix(name, "/"):
		return "", fmt.Errorf("%w: %q is absolute", ErrBadName, name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("%w: %q holds a control character", ErrBadName, name)
		}
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: %q climbs out with ..", ErrBadName, name)
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", fmt.Errorf("%w: %q names the directory itself", ErrBadName, name)
	}
	return clean, nil
}
