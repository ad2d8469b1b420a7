package wizard

import (
	"context"
	"strconv"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/pxe"
)

// Found is a machine seen PXE-booting (pxe's record of a discovered machine).
type Found = pxe.Discovered

// Discoverer reports the machines seen PXE-booting so far, first seen first.
type Discoverer interface {
	Seen() []Found
}

// machines is the state of the machines screen.
type machines struct {
	keys      machineKeys
	cursor    int
	found     []Found
	disc      Discoverer
	discErr   error
	cancel    context.CancelFunc
	form      *huh.Form // editing one machine
	edit      int       // index in Answers.Machines being edited
	draft     config.Machine
	labSet    bool // the lab example's answers were filled in
	listening bool
}

type machineKeys struct {
	Up, Down, Member, Hyper, Both, Remove, Add, Edit, Next key.Binding
}

func newMachineKeys() machineKeys {
	return machineKeys{
		Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/↓", "move")),
		Down:   key.NewBinding(key.WithKeys("down", "j")),
		Member: key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "member")),
		Hyper:  key.NewBinding(key.WithKeys("h"), key.WithHelp("h", "hypervisor")),
		Both:   key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "both")),
		Remove: key.NewBinding(key.WithKeys("x", "delete"), key.WithHelp("x", "remove")),
		Add:    key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add by MAC")),
		Edit:   key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit name/address/disk")),
		Next:   key.NewBinding(key.WithKeys("enter", "tab"), key.WithHelp("enter", "next")),
	}
}

func (mc *machines) editing() bool { return mc.form != nil }

type discoveryMsg struct {
	d   Discoverer
	err error
}
type foundMsg []Found

func (m *Model) enterMachines() tea.Cmd {
	if m.a.Target == TargetLab && len(m.a.Machines) == 0 {
		// The lab's own defaults generate lab-1..N; show them so they can be changed.
		c := m.a.Config()
		c.Lab.Count = config.DefaultLabCount
		config.ApplyDefaults(c)
		m.a.Machines = c.Machines
	}
	if m.cfg.Discover == nil || m.mach.listening {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.mach.cancel, m.mach.listening, m.mach.discErr = cancel, true, nil
	start, c := m.cfg.Discover, m.a.Defaulted()
	return func() tea.Msg {
		d, err := start(ctx, c)
		return discoveryMsg{d, err}
	}
}

func (m *Model) stopDiscovery() {
	if m.mach.cancel != nil {
		m.mach.cancel()
	}
	m.mach.cancel, m.mach.listening, m.mach.disc = nil, false, nil
}

func poll(d Discoverer) tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return foundMsg(d.Seen()) })
}

// rows are the listed machines, then the discovered ones not listed yet.
func (m *Model) unlisted() []Found {
	var out []Found
	for _, f := range m.mach.found {
		listed := false
		for _, mc := range m.a.Machines {
			if config.NormalizeMAC(mc.MAC) == config.NormalizeMAC(f.MAC) && f.MAC != "" {
				listed = true
			}
		}
		if !listed {
			out = append(out, f)
		}
	}
	return out
}

func (m *Model) updateMachines(msg tea.Msg) tea.Cmd {
	mc := &m.mach
	switch msg := msg.(type) {
	case discoveryMsg:
		if msg.err != nil {
			mc.discErr = msg.err
			return nil
		}
		if !mc.listening { // left the screen meanwhile
			return nil
		}
		mc.disc = msg.d
		return poll(msg.d)
	case foundMsg:
		if mc.disc == nil {
			return nil
		}
		mc.found = msg
		return poll(mc.disc)
	}
	if mc.form != nil {
		return m.updateMachineForm(msg)
	}
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	listed, extra := len(m.a.Machines), m.unlisted()
	rows := listed + len(extra)
	switch {
	case key.Matches(k, mc.keys.Up):
		mc.cursor = max(0, mc.cursor-1)
	case key.Matches(k, mc.keys.Down):
		mc.cursor = min(max(0, rows-1), mc.cursor+1)
	case key.Matches(k, mc.keys.Member), key.Matches(k, mc.keys.Hyper), key.Matches(k, mc.keys.Both):
		role := map[string]string{"m": config.RoleMember, "h": config.RoleHypervisor, "b": config.RoleBoth}[k.String()]
		switch {
		case mc.cursor < listed:
			m.a.Machines[mc.cursor].Role = role
		case mc.cursor < rows:
			f := extra[mc.cursor-listed]
			m.a.Machines = append(m.a.Machines, config.Machine{Name: nextName(m.a.Machines, machineName(f.MAC)),
				MAC: f.MAC, UUID: f.UUID, Role: role, Address: config.AddressDHCP})
			mc.cursor = len(m.a.Machines) - 1
		}
	case key.Matches(k, mc.keys.Remove):
		if mc.cursor < listed {
			m.a.Machines = append(m.a.Machines[:mc.cursor:mc.cursor], m.a.Machines[mc.cursor+1:]...)
			mc.cursor = max(0, min(mc.cursor, listed-2))
		}
	case key.Matches(k, mc.keys.Add):
		mc.edit, mc.draft = -1, config.Machine{Role: config.RoleHypervisor, Address: config.AddressDHCP}
		return m.openMachineForm()
	case key.Matches(k, mc.keys.Edit):
		if mc.cursor < listed {
			mc.edit, mc.draft = mc.cursor, m.a.Machines[mc.cursor]
			return m.openMachineForm()
		}
	case key.Matches(k, mc.keys.Next):
		if m.machinesErr() == nil {
			return m.enter(ScreenSSH)
		}
	}
	return nil
}

// machinesErr is the validator's verdict on the machine list as a whole.
func (m *Model) machinesErr() error {
	return m.a.Check("machines", "control_plane.members", "lab.count", "discovery")
}

// openMachineForm edits mc.draft: MAC, name, role, address, disk, each
// checked by the validator as machines[i].
func (m *Model) openMachineForm() tea.Cmd {
	mc := &m.mach
	idx := mc.edit
	if idx < 0 {
		idx = len(m.a.Machines)
	}
	check := func(path string, set func(*config.Machine, string)) func(string) error {
		return func(s string) error {
			a := *m.a
			a.Machines = append([]config.Machine(nil), m.a.Machines...)
			d := mc.draft
			set(&d, s)
			if idx < len(a.Machines) {
				a.Machines[idx] = d
			} else {
				a.Machines = append(a.Machines, d)
			}
			return a.Check(machinePath(idx, path))
		}
	}
	d := &mc.draft
	mc.form = huh.NewForm(huh.NewGroup(
		huh.NewInput().Title("MAC address of its boot NIC").Value(&d.MAC).Validate(check("mac", func(x *config.Machine, s string) { x.MAC = s })),
		huh.NewInput().Title("Hostname").Value(&d.Name).Validate(check("name", func(x *config.Machine, s string) { x.Name = s })),
		huh.NewSelect[string]().Title("Role").Options(huh.NewOption("member: runs the control plane", config.RoleMember),
			huh.NewOption("hypervisor: hosts tenant nodes", config.RoleHypervisor), huh.NewOption("both", config.RoleBoth)).Value(&d.Role),
		huh.NewInput().Title("Address").Description("dhcp, or a static IPv4 address in the boot subnet (the first member needs one)").
			Value(&d.Address).Validate(check("address", func(x *config.Machine, s string) { x.Address = s })),
		huh.NewInput().Title("Install disk (empty: runs live from RAM)").Value(&d.Disk).Validate(check("disk", func(x *config.Machine, s string) { x.Disk = s })),
	)).WithWidth(min(m.width, 100) - 2).WithShowHelp(true)
	if m.cfg.Plain {
		mc.form = mc.form.WithTheme(huh.ThemeBase())
	}
	return mc.form.Init()
}

func machinePath(i int, field string) string { return "machines[" + strconv.Itoa(i) + "]." + field }

func (m *Model) updateMachineForm(msg tea.Msg) tea.Cmd {
	mc := &m.mach
	if k, ok := msg.(tea.KeyMsg); ok && k.String() == "esc" {
		mc.form = nil
		return nil
	}
	f, cmd := mc.form.Update(msg)
	mc.form = f.(*huh.Form)
	switch mc.form.State {
	case huh.StateCompleted:
		if mc.edit >= 0 {
			m.a.Machines[mc.edit] = mc.draft
		} else {
			m.a.Machines = append(m.a.Machines, mc.draft)
			mc.cursor = len(m.a.Machines) - 1
		}
		mc.form = nil
		return nil
	case huh.StateAborted:
		mc.form = nil
	}
	return cmd
}
