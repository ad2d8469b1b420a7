package ignition

import (
	"fmt"
	"strings"

	"github.com/coreos/ignition/v2/config/v3_5/types"
)

// owned is what Vela's own config writes: "file /etc/hostname",
// "unit vela-server.service", ... The operator may add to a machine's
// config but not silently replace these.
type owned map[string]bool

func ownedEntries(c types.Config) owned {
	o := owned{}
	for _, f := range c.Storage.Files {
		o["path "+f.Path] = true
	}
	for _, d := range c.Storage.Directories {
		o["path "+d.Path] = true
	}
	for _, l := range c.Storage.Links {
		o["path "+l.Path] = true
	}
	for _, u := range c.Systemd.Units {
		o["unit "+u.Name] = true
	}
	return o
}

// conflict is a snippet entry that would replace one of Vela's.
type conflict struct {
	what string // "file /etc/hostname"
	key  string // the path or unit name, to find in the snippet text
	vela string // Vela's entry of the same path or name
}

// conflicts lists the snippet's entries that would replace Vela's own. A
// unit that only adds drop-ins (no contents, no enabled or mask change) is
// how an operator tunes a Vela unit, so it is allowed.
func conflicts(o owned, c types.Config) []conflict {
	var out []conflict
	add := func(kind, path string) {
		if o["path "+path] {
			out = append(out, conflict{what: kind + " " + path, key: path, vela: "file or directory " + path})
		}
	}
	for _, f := range c.Storage.Files {
		add("file", f.Path)
	}
	for _, d := range c.Storage.Directories {
		add("directory", d.Path)
	}
	for _, l := range c.Storage.Links {
		add("link", l.Path)
	}
	for _, u := range c.Systemd.Units {
		dropinsOnly := u.Contents == nil && u.Enabled == nil && u.Mask == nil
		if o["unit "+u.Name] && !dropinsOnly {
			out = append(out, conflict{what: "unit " + u.Name, key: u.Name, vela: "unit " + u.Name})
		}
	}
	return out
}

func checkConflicts(o owned, s snippet) error {
	cs := conflicts(o, s.cfg)
	if len(cs) == 0 {
		return nil
	}
	c := cs[0]
	return fmt.Errorf("butane snippet %q (butane[%d]) line %d: %s; remove it from the snippet (for a Vela unit, add a drop-in instead)",
		s.name, s.index, keyLine(s.text, c.key), c)
}

func (c conflict) String() string {
	return fmt.Sprintf("its %s conflicts with Vela's own %s", c.what, c.vela)
}

// keyLine returns the line of the snippet's "path: KEY" or "name: KEY", or 0.
func keyLine(text, key string) int {
	for i, l := range strings.Split(text, "\n") {
		t := strings.TrimPrefix(strings.TrimSpace(l), "- ")
		for _, k := range []string{"path:", "name:"} {
			if strings.HasPrefix(t, k) && strings.Trim(strings.TrimSpace(t[len(k):]), `"'`) == key {
				return i + 1
			}
		}
	}
	return 0
}
