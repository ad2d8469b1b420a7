package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"go.yaml.in/yaml/v3"
)

// EnvProfile names the profile to use instead of the current one.
const EnvProfile = "VELA_PROFILE"

// Profile is one control plane the CLI can reach, as `vela login` stores
// it: the server, a token and the cluster CA (inline PEM, or a path).
type Profile struct {
	Server string `yaml:"server" json:"server"`
	Token  string `yaml:"token,omitempty" json:"token,omitempty"`
	// CAPEM is the cluster CA certificate itself; CAFile a path to it
	// (read at each use). CAPEM wins when both are set.
	CAPEM  string `yaml:"ca_pem,omitempty" json:"ca_pem,omitempty"`
	CAFile string `yaml:"ca_file,omitempty" json:"ca_file,omitempty"`
	// Tenant and Kind are what whoami said at login (informative).
	Tenant string `yaml:"tenant,omitempty" json:"tenant,omitempty"`
	Kind   string `yaml:"kind,omitempty" json:"kind,omitempty"`
}

// Profiles is the profile file ($XDG_CONFIG_HOME/vela/config.yaml).
type Profiles struct {
	Current  string              `yaml:"current,omitempty"`
	Profiles map[string]*Profile `yaml:"profiles,omitempty"`
}

// ProfilesPath is $XDG_CONFIG_HOME/vela/config.yaml, else
// ~/.config/vela/config.yaml ("" without a home).
func ProfilesPath() string {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "vela", "config.yaml")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".config", "vela", "config.yaml")
}

// LoadProfiles reads the profile file; a missing file is an empty one.
func LoadProfiles(path string) (*Profiles, error) {
	p := &Profiles{Profiles: map[string]*Profile{}}
	if path == "" {
		return p, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the vela profiles %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("the vela profiles %s are damaged (%v); fix the file or remove it and run `vela login` again", path, err)
	}
	if p.Profiles == nil {
		p.Profiles = map[string]*Profile{}
	}
	for name, pr := range p.Profiles {
		if pr == nil || pr.Server == "" {
			return nil, fmt.Errorf("the vela profiles %s: profile %q has no server; run `vela login URL --token T --profile %s` again", path, name, name)
		}
	}
	return p, nil
}

// Save writes the profile file atomically (0600, its directory 0700).
func (p *Profiles) Save(path string) error {
	if path == "" {
		return errors.New("no place for the vela profiles: set XDG_CONFIG_HOME or HOME")
	}
	b, err := yaml.Marshal(p)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write the vela profiles: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("write the vela profiles: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".config-*.yaml")
	if err != nil {
		return fmt.Errorf("write the vela profiles: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write the vela profiles %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write the vela profiles %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write the vela profiles %s: %w", path, err)
	}
	return nil
}

// Names lists the profiles in order.
func (p *Profiles) Names() []string {
	names := make([]string, 0, len(p.Profiles))
	for n := range p.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Get returns the named profile or an error listing the known ones.
func (p *Profiles) Get(name string) (*Profile, error) {
	if pr, ok := p.Profiles[name]; ok {
		return pr, nil
	}
	if len(p.Profiles) == 0 {
		return nil, fmt.Errorf("no profile %q: there are none yet; create one with `vela login URL --token T --profile %s`", name, name)
	}
	return nil, fmt.Errorf("no profile %q (known: %v); list them with `vela profiles ls`", name, p.Names())
}

// Put stores a profile and makes it current.
func (p *Profiles) Put(name string, pr Profile) {
	p.Profiles[name] = &pr
	p.Current = name
}

// Remove deletes a profile; the current one becomes none.
func (p *Profiles) Remove(name string) error {
	if _, err := p.Get(name); err != nil {
		return err
	}
	delete(p.Profiles, name)
	if p.Current == name {
		p.Current = ""
	}
	return nil
}

// CA returns the profile's CA certificate.
func (pr *Profile) CA() ([]byte, error) {
	if pr.CAPEM != "" {
		return []byte(pr.CAPEM), nil
	}
	if pr.CAFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(pr.CAFile)
	if err != nil {
		return nil, fmt.Errorf("read the profile's CA certificate: %w", err)
	}
	return b, nil
}
