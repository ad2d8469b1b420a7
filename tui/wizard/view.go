package wizard

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/vela-appliance/vela/installer/config"
)

// View draws the current screen inside the window.
func (m *Model) View() string {
	st := m.cfg.Styles
	head := st.Title.Render(fmt.Sprintf("Vela install · %d/%d %s", m.screen+1, screenCount, screenTitles[m.screen]))
	var body string
	switch {
	case m.help:
		body = m.helpView()
	case m.form != nil:
		body = m.form.View()
	case m.screen == ScreenWelcome:
		body = m.welcomeView()
	case m.screen == ScreenMachines:
		body = m.machinesView()
	case m.screen == ScreenReview:
		body = m.reviewView()
	}
	foot := st.Subtle.Render("esc back · ? help · ctrl+c leave")
	if m.form != nil {
		foot = st.Subtle.Render("esc back · ctrl+c leave")
	}
	lines := append([]string{head, ""}, strings.Split(strings.TrimRight(body, "\n"), "\n")...)
	if len(lines) > m.height-1 {
		lines = lines[:max(1, m.height-1)]
	}
	for len(lines) < m.height-1 {
		lines = append(lines, "")
	}
	lines = append(lines, foot)
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, m.width, "…")
	}
	return strings.Join(lines, "\n")
}

func (m *Model) welcomeView() string {
	st := m.cfg.Styles
	var b strings.Builder
	b.WriteString("This installer asks a few questions, saves the answers as an install config\n")
	b.WriteString("file (for unattended reuse), then installs. Nothing is changed before the end.\n\n")
	b.WriteString(st.Subtle.Render("Checks of this host:") + "\n")
	switch {
	case m.cfg.Preflight == nil:
		b.WriteString("  (none)\n")
	case !m.checked:
		b.WriteString("  running…\n")
	}
	for _, r := range m.checks {
		mark := st.OK.Render("ok  ")
		switch {
		case !r.OK && r.Warn:
			mark = st.Warn.Render("warn")
		case !r.OK:
			mark = st.Fail.Render("FAIL")
		}
		line := fmt.Sprintf("  %s %-20s %s", mark, r.Check, r.Msg)
		if !r.OK && r.Fix != "" {
			line += st.Subtle.Render(" — " + r.Fix)
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("\n" + st.Key.Render("enter") + " start")
	return b.String()
}

func (m *Model) machinesView() string {
	st, mc := m.cfg.Styles, &m.mach
	if mc.form != nil {
		return "Machine\n\n" + mc.form.View()
	}
	var b strings.Builder
	switch {
	case mc.discErr != nil:
		b.WriteString(st.Warn.Width(m.width).Render("discovery is off: "+mc.discErr.Error()) + "\n")
	case mc.disc != nil || mc.listening:
		b.WriteString(st.Subtle.Render("Listening for machines that PXE-boot on the boot network…") + "\n")
	default:
		b.WriteString(st.Subtle.Render("Add machines by MAC (a); discovery is not running.") + "\n")
	}
	b.WriteString(fmt.Sprintf("   %-14s %-17s %-10s %-15s %s\n", "NAME", "MAC", "ROLE", "ADDRESS", "SEEN"))
	ds := m.a.Diagnostics().Errors()
	row := 0
	cursor := func() string {
		defer func() { row++ }()
		if row == mc.cursor {
			return st.Active.Render(" ▸ ")
		}
		return "   "
	}
	for i, x := range m.a.Machines {
		b.WriteString(fmt.Sprintf("%s%-14s %-17s %-10s %-15s %s\n", cursor(), x.Name, x.MAC, x.Role, x.Address, seen(mc.found, x.MAC)))
		for _, d := range ds.For(fmt.Sprintf("machines[%d]", i)) {
			b.WriteString(st.Error.Width(m.width).PaddingLeft(5).Render("✗ "+message(d)) + "\n")
		}
	}
	for _, f := range m.unlisted() {
		b.WriteString(fmt.Sprintf("%s%-14s %-17s %-10s %-15s %s\n", cursor(), st.Subtle.Render("(discovered)"), f.MAC, "-", f.IP, f.Arch))
	}
	if row == 0 {
		b.WriteString("   (no machines yet)\n")
	}
	var members int
	for _, x := range m.a.Machines {
		if x.IsMember() {
			members++
		}
	}
	b.WriteString(fmt.Sprintf("\n%d machine(s), %d member(s)\n", len(m.a.Machines), members))
	for _, d := range append(append(ds.For("machines"), ds.For("control_plane.members")...), ds.For("lab.count")...) {
		if !strings.HasPrefix(d.Path, "machines[") {
			b.WriteString(st.Error.Width(m.width).Render("✗ "+message(d)) + "\n")
		}
	}
	k := mc.keys
	var help []string
	for _, bnd := range []struct{ k, d string }{{k.Up.Help().Key, k.Up.Help().Desc}, {"m/h/b", "member/hypervisor/both"},
		{k.Add.Help().Key, k.Add.Help().Desc}, {k.Edit.Help().Key, "edit"}, {k.Remove.Help().Key, k.Remove.Help().Desc}, {"enter", "next"}} {
		help = append(help, st.Key.Render(bnd.k)+" "+bnd.d)
	}
	b.WriteString(strings.Join(help, " · "))
	return b.String()
}

func seen(found []Found, mac string) string {
	for _, f := range found {
		if config.NormalizeMAC(f.MAC) == config.NormalizeMAC(mac) {
			return "booted " + f.FirstSeen.Format("15:04:05")
		}
	}
	return ""
}

func (m *Model) reviewView() string {
	st, r := m.cfg.Styles, &m.review
	var b strings.Builder
	b.WriteString(r.vp.View() + "\n")
	switch {
	case r.err != nil:
		b.WriteString(st.Fail.Render(r.err.Error()) + "\n")
	case r.diags.HasErrors():
		b.WriteString(st.Fail.Render(fmt.Sprintf("vela config validate: %d error(s); esc goes back to fix them", len(r.diags.Errors()))) + "\n")
	default:
		b.WriteString(st.OK.Render(fmt.Sprintf("vela config validate: valid (%d warning(s))", len(r.diags.Warnings()))) + "\n")
	}
	for _, d := range r.diags {
		s := st.Error
		if d.Severity == config.Warning {
			s = st.Warn
		}
		b.WriteString(s.Width(m.width).PaddingLeft(2).Render(message(d)) + "\n")
	}
	b.WriteString(r.path.View() + "\n")
	if r.saveErr != nil {
		b.WriteString(st.Fail.Render(r.saveErr.Error()) + "\n")
	}
	b.WriteString(st.Key.Render("enter") + " save and install · ↑/↓ scroll")
	return b.String()
}

func (m *Model) helpView() string {
	return strings.Join([]string{
		"Keys",
		"  enter        next field / next screen",
		"  esc          back one screen; every answer is kept",
		"  tab/shift+tab next/previous field in a form",
		"  ?            this help (outside text fields)",
		"  ctrl+c       leave without saving",
		"Machines screen",
		"  ↑/↓ move · m member · h hypervisor · b both · a add by MAC · e edit · x remove",
		"",
		"Every answer is checked by the same validator as `vela config validate`.",
	}, "\n")
}
