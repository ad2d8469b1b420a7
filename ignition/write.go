package ignition

import (
	"fmt"
	"os"
	"path/filepath"
)

// FileName is the file a machine's rendered config is stored in, in the
// directory `vela pxe serve --ignition-dir` serves from.
func FileName(machine string) string { return machine + ".ign" }

// WriteFile stores a rendered config as DIR/<machine>.ign, readable by its
// owner only (it holds the join token). It writes a temporary file and
// renames it, so a server never reads half a config.
func WriteFile(dir, machine string, rendered []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the Ignition directory %s: %v", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+machine+".ign.*")
	if err != nil {
		return fmt.Errorf("writing the config of machine %q in %s: %v", machine, dir, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename this fails harmlessly
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("writing the config of machine %q: %v", machine, err)
	}
	if _, err := f.Write(rendered); err != nil {
		f.Close()
		return fmt.Errorf("writing the config of machine %q: %v", machine, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the config of machine %q: %v", machine, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, FileName(machine))); err != nil {
		return fmt.Errorf("writing the config of machine %q: %v", machine, err)
	}
	return nil
}

// AgentTokenKey is the key of a machine's agent token in a tokens map (and
// file), for machines that are both members and hypervisors.
func AgentTokenKey(machine string) string { return machine + "/agent" }

// RenderAll renders every machine of in.Config (in.Machine, in.JoinToken
// and in.AgentToken are ignored; tokens gives each machine's join token,
// and AgentTokenKey(machine) its agent token) and
// stores each config in dir. It renders all before writing any, so a
// bad config leaves dir as it was.
func RenderAll(dir string, in Input, tokens map[string]string) error {
	out := map[string][]byte{}
	for _, m := range in.Config.Machines {
		one := in
		one.Machine, one.JoinToken, one.AgentToken = m.Name, tokens[m.Name], tokens[AgentTokenKey(m.Name)]
		b, err := Render(one)
		if err != nil {
			return err
		}
		out[m.Name] = b
	}
	for _, m := range in.Config.Machines {
		if err := WriteFile(dir, m.Name, out[m.Name]); err != nil {
			return err
		}
	}
	return nil
}
