package wizard

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vela-appliance/vela/installer/config"
)

// errBack is typed as "<" at any prompt: go back one screen.
var errBack = errors.New("back")

// prompter asks questions line by line (accessible mode): no cursor
// movement, no colours, one question per line, re-asked until the
// validator accepts the answer.
type prompter struct {
	in  *bufio.Reader
	out io.Writer
}

func (p *prompter) line(prompt string) (string, error) {
	fmt.Fprint(p.out, prompt)
	s, err := p.in.ReadString('\n')
	if err != nil && (s == "" || !errors.Is(err, io.EOF)) {
		fmt.Fprintln(p.out)
		return "", ErrAborted
	}
	s = strings.TrimSpace(s)
	if s == "<" {
		return "", errBack
	}
	return s, nil
}

// ask asks one question until its answer validates; empty keeps the
// current value, "-" clears an optional one.
func (p *prompter) ask(a *Answers, q question) error {
	cur := q.get(a)
	if q.help != "" {
		fmt.Fprintln(p.out, "  "+q.help)
	}
	var opts []option
	if q.kind == kindChoice {
		opts = q.options(a)
		for i, o := range opts {
			fmt.Fprintf(p.out, "  %d) %s\n", i+1, o.label)
		}
	}
	for {
		var v string
		var err error
		if q.kind == kindText {
			v, err = p.text(q.title, *cur)
		} else {
			v, err = p.line(fmt.Sprintf("%s [%s]: ", q.title, *cur))
		}
		if err != nil {
			return err
		}
		switch {
		case v == "":
			v = *cur
		case v == "-":
			v = ""
		case q.kind == kindChoice:
			if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= len(opts) {
				v = opts[n-1].value
			}
		}
		if err := checkValue(*a, q, v); err != nil {
			fmt.Fprintln(p.out, "  error: "+strings.ReplaceAll(err.Error(), "\n", "\n  error: "))
			continue
		}
		*cur = v
		if cur == &a.SSHKeyFile {
			_ = readKeyFile(a)
			a.SSHKeyFile = ""
		}
		return nil
	}
}

// text reads lines until an empty one; no lines keeps cur.
func (p *prompter) text(title, cur string) (string, error) {
	if cur != "" {
		fmt.Fprintf(p.out, "%s (now %d line(s); enter keeps them)\n", title, len(strings.Split(cur, "\n")))
	} else {
		fmt.Fprintf(p.out, "%s (an empty line ends)\n", title)
	}
	var lines []string
	for {
		l, err := p.line("> ")
		if err != nil {
			return "", err
		}
		if l == "" {
			break
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n"), nil
}

// RunAccessible asks the wizard's questions line by line on out, reading
// answers from in; it returns the path the config was saved to. Typing "<"
// goes back one screen; end of input leaves (ErrAborted).
func RunAccessible(ctx context.Context, cfg Config, in io.Reader, out io.Writer) (string, error) {
	m := New(cfg)
	defer m.stopDiscovery()
	p := &prompter{in: bufio.NewReader(in), out: out}
	fmt.Fprintln(out, "Vela install: the interactive installer, line by line.")
	fmt.Fprintln(out, "Enter keeps the value in [brackets]; - clears it; < goes back one screen.")
	if cfg.Preflight != nil {
		fmt.Fprintln(out, "Checks of this host:")
		for _, r := range cfg.Preflight(m.a.Defaulted()) {
			mark := "ok  "
			if !r.OK {
				mark = map[bool]string{true: "warn", false: "FAIL"}[r.Warn]
			}
			fmt.Fprintf(out, "  %s %s: %s\n", mark, r.Check, r.Msg)
		}
	}
	screen := ScreenTarget
	for screen < screenCount {
		if ctx.Err() != nil {
			return "", ErrAborted
		}
		fmt.Fprintf(out, "\n== %d/%d %s ==\n", screen+1, screenCount, screenTitles[screen])
		var err error
		switch screen {
		case ScreenMachines:
			err = p.machines(ctx, m)
		case ScreenReview:
			var path string
			var back int
			path, back, err = p.review(m)
			if err == nil && path != "" {
				return path, nil
			}
			if err == nil {
				screen = back
				continue
			}
		default:
			prev := m.a.Target
			for _, q := range questions(screen, m.ifs) {
				if q.show != nil && !q.show(*m.a) {
					continue
				}
				if err = p.ask(m.a, q); err != nil {
					break
				}
			}
			if screen == ScreenTarget && err == nil && prev != m.a.Target {
				m.screen = ScreenTarget
				m.targetChanged()
			}
		}
		switch {
		case errors.Is(err, errBack):
			screen = max(ScreenTarget, screen-1)
		case err != nil:
			return "", err
		default:
			screen++
		}
	}
	return "", ErrAborted
}

// machines is the line-mode machines screen: a listing and a few commands.
func (p *prompter) machines(ctx context.Context, m *Model) error {
	m.enterMachinesAccessible(ctx)
	for {
		if m.mach.disc != nil {
			m.mach.found = m.mach.disc.Seen()
		}
		listed, extra := m.a.Machines, m.unlisted()
		fmt.Fprintln(p.out, "Machines (N NAME MAC ROLE ADDRESS):")
		for i, x := range listed {
			fmt.Fprintf(p.out, "  %d %s %s %s %s\n", i+1, x.Name, x.MAC, x.Role, x.Address)
		}
		for i, f := range extra {
			fmt.Fprintf(p.out, "  %d (discovered) %s %s\n", len(listed)+i+1, f.MAC, f.Arch)
		}
		if m.mach.discErr != nil {
			fmt.Fprintln(p.out, "  discovery is off: "+m.mach.discErr.Error())
		}
		err := m.machinesErr()
		if err != nil {
			fmt.Fprintln(p.out, "  error: "+strings.ReplaceAll(err.Error(), "\n", "\n  error: "))
		}
		fmt.Fprintln(p.out, "Commands: add MAC | role N member|hypervisor|both | addr N dhcp|IP | name N NAME | disk N DEV | rm N | list | done")
		l, lerr := p.line("machines> ")
		if lerr != nil {
			return lerr
		}
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if f[0] == "done" {
			if err == nil {
				return nil
			}
			continue
		}
		if msg := m.machineCommand(f, extra); msg != "" {
			fmt.Fprintln(p.out, "  "+msg)
		}
	}
}

// machineCommand applies one line-mode command; it returns what to tell.
func (m *Model) machineCommand(f []string, extra []Found) string {
	ms := &m.a.Machines
	idx := -1
	if len(f) >= 2 {
		if n, err := strconv.Atoi(f[1]); err == nil {
			idx = n - 1
		}
	}
	switch {
	case f[0] == "list":
		return ""
	case f[0] == "add" && len(f) >= 2:
		*ms = append(*ms, config.Machine{Name: nextName(*ms, machineName(f[1])), MAC: f[1], Role: config.RoleHypervisor, Address: config.AddressDHCP})
		return "added as a hypervisor; change it with role/addr/name"
	case f[0] == "role" && len(f) == 3 && idx >= len(*ms) && idx < len(*ms)+len(extra):
		d := extra[idx-len(*ms)]
		*ms = append(*ms, config.Machine{Name: nextName(*ms, machineName(d.MAC)), MAC: d.MAC, UUID: d.UUID, Role: f[2], Address: config.AddressDHCP})
	case idx < 0 || idx >= len(*ms):
		return "unknown command or machine number"
	case f[0] == "rm":
		*ms = append((*ms)[:idx:idx], (*ms)[idx+1:]...)
	case len(f) != 3:
		return "give the machine number and one value"
	case f[0] == "role":
		(*ms)[idx].Role = f[2]
	case f[0] == "addr":
		(*ms)[idx].Address = f[2]
	case f[0] == "name":
		(*ms)[idx].Name = f[2]
	case f[0] == "disk":
		(*ms)[idx].Disk = f[2]
	default:
		return "unknown command"
	}
	return ""
}

func (m *Model) enterMachinesAccessible(ctx context.Context) {
	_ = m.enterMachines() // pre-fills the lab machines; discovery is started below
	m.stopDiscovery()
	if m.cfg.Discover == nil {
		return
	}
	dctx, cancel := context.WithCancel(ctx)
	d, err := m.cfg.Discover(dctx, m.a.Defaulted())
	if err != nil {
		cancel()
		m.mach.discErr = err
		return
	}
	m.mach.cancel, m.mach.disc, m.mach.listening = cancel, d, true
}

// review prints the YAML and the validator's verdict, then saves. With
// errors it sends the operator back to the screen of the first one.
func (p *prompter) review(m *Model) (string, int, error) {
	m.stopDiscovery()
	b, err := Marshal(m.a.Config())
	if err != nil {
		return "", 0, err
	}
	fmt.Fprintf(p.out, "%s\n", b)
	diags := m.cfg.Check(b)
	for _, d := range diags {
		fmt.Fprintln(p.out, "  "+d.Error())
	}
	if diags.HasErrors() {
		fmt.Fprintf(p.out, "vela config validate: %d error(s); going back to fix them\n", len(diags.Errors()))
		return "", screenOf(diags.Errors()[0].Path), nil
	}
	fmt.Fprintf(p.out, "vela config validate: valid (%d warning(s))\n", len(diags.Warnings()))
	for {
		path, err := p.line(fmt.Sprintf("Save to [%s]: ", m.a.SavePath))
		if err != nil {
			return "", 0, err
		}
		if path == "" {
			path = m.a.SavePath
		}
		abs, err := filepath.Abs(path)
		if err == nil {
			err = os.WriteFile(abs, b, 0o600)
		}
		if err != nil {
			fmt.Fprintf(p.out, "  error: saving to %s: %v; pick another path\n", path, err)
			continue
		}
		fmt.Fprintf(p.out, "saved %s\n", abs)
		return abs, 0, nil
	}
}

// screenOf is the screen that asks about a config path.
func screenOf(path string) int {
	for _, s := range []struct {
		prefix string
		screen int
	}{{"network", ScreenNetwork}, {"lab.bridge", ScreenNetwork}, {"os", ScreenOS}, {"machines", ScreenMachines},
		{"control_plane", ScreenMachines}, {"lab", ScreenMachines}, {"ssh", ScreenSSH}, {"admin", ScreenPeople}, {"tenant", ScreenPeople}} {
		if strings.HasPrefix(path, s.prefix) {
			return s.screen
		}
	}
	return ScreenTarget
}
