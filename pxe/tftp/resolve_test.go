package tftp

import (
	"errors"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		name string
		want string // "" means refused
	}{
		{"undionly.kpxe", "undionly.kpxe"},
		{"sub/ipxe.efi", "sub/ipxe.efi"},
		{"./snponly.efi", "snponly.efi"},
		{"a//b", "a/b"},
		{"", ""},
		{".", ""},
		{"..", ""},
		{"../etc/passwd", ""},
		{"a/../../etc/passwd", ""},
		{"a/..", ""},
		{"/etc/passwd", ""},
		{"//etc/passwd", ""},
		{`..\..\windows`, ""},
		{`a\b`, ""},
		{"undionly.kpxe\x00.txt", ""},
		{"bad\nname", ""},
		{strings.Repeat("a", MaxNameLen+1), ""},
	}
	for _, tt := range tests {
		got, err := Resolve(tt.name)
		if tt.want == "" {
			if err == nil || !errors.Is(err, ErrBadName) {
				t.Errorf("Resolve(%q) = %q, %v; want ErrBadName", tt.name, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"undionly.kpxe", "../x", "/abs", `a\b`, "a\x00b", "a/./b/../c", ".."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := Resolve(name)
		if err != nil {
			return
		}
		if got == "" || strings.HasPrefix(got, "/") || strings.ContainsAny(got, "\x00\\") || len(got) > MaxNameLen {
			t.Fatalf("Resolve(%q) = %q: unsafe result", name, got)
		}
		for _, p := range strings.Split(got, "/") {
			if p == ".." || p == "." || p == "" {
				t.Fatalf("Resolve(%q) = %q: unclean element %q", name, got, p)
			}
		}
	})
}
