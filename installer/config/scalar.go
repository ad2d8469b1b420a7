package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// scalar is implemented by field types that parse themselves from a YAML
// scalar (the loader calls it instead of its generic rules).
type scalar interface {
	parseScalar(s string) error
}

// Duration is a time.Duration written like "90s", "1h".
type Duration time.Duration

func (d *Duration) parseScalar(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration; write it like 30m or 1h", s)
	}
	*d = Duration(v)
	return nil
}

// String formats the duration the way it is written.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML writes the duration back as text.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// ByteSize is a size in bytes written like "4GiB", "512MiB" or "1073741824".
type ByteSize int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1},
}

// ParseByteSize parses "4GiB", "512MiB", "2GB" or a plain byte count.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size; write it like 4GiB or 512MiB", s)
	}
	return ByteSize(n * mult), nil
}

func (b *ByteSize) parseScalar(s string) error {
	v, err := ParseByteSize(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// String formats the size with the largest binary unit that divides it.
func (b ByteSize) String() string {
	for _, u := range sizeUnits[:4] {
		if b != 0 && int64(b)%u.mult == 0 {
			return fmt.Sprintf("%d%s", int64(b)/u.mult, u.suffix)
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// MarshalYAML writes the size back as text.
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }
