package ignition

import (
	"bufio"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vela-appliance/vela/installer/config"
)

// TokensFile is the file RenderAll's caller stores generated join tokens in,
// beside the configs, so the control plane can be told to accept them.
const TokensFile = "join-tokens"

// DefaultBootURL is the boot server URL of a config: the seed's address on
// the boot network and the HTTP port, http://ADDR:PORT.
func DefaultBootURL(c *config.Config) (string, error) {
	p, err := netip.ParsePrefix(c.Network.Address)
	if err != nil {
		return "", fmt.Errorf("network.address %q: %v", c.Network.Address, err)
	}
	return fmt.Sprintf("http://%s:%d", p.Addr(), c.Network.Ports.HTTP), nil
}

// HashFile returns the hex sha512 of a file (the vela binary or the node
// image to serve), as Ignition's verification.hash wants it after "sha512-".
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hashing: %v", err)
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %v", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// NewToken returns a random 256-bit join token in hex.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a join token: %v", err)
	}
	return hex.EncodeToString(b), nil
}

// ReadTokens reads a tokens file: one "MACHINE TOKEN" per line; blank lines
// and lines starting with # are skipped.
func ReadTokens(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading join tokens: %v", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 2 {
			return nil, fmt.Errorf("%s:%d: want \"MACHINE TOKEN\"", path, n)
		}
		out[fs[0]] = fs[1]
	}
	return out, sc.Err()
}

// WriteTokens stores tokens in DIR/join-tokens (0600), in ReadTokens'
// format, keeping the entries already there for other machines.
func WriteTokens(dir string, tokens map[string]string) error {
	p := filepath.Join(dir, TokensFile)
	if old, err := ReadTokens(p); err == nil {
		for n, t := range tokens {
			old[n] = t
		}
		tokens = old
	}
	names := make([]string, 0, len(tokens))
	for n := range tokens {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# Join tokens of the rendered configs: MACHINE TOKEN. Secret: keep 0600.\n")
	for _, n := range names {
		fmt.Fprintf(&b, "%s %s\n", n, tokens[n])
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("writing join tokens: %v", err)
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("writing join tokens: %v", err)
	}
	return os.Chmod(p, 0o600) // WriteFile keeps the mode of an existing file
}
