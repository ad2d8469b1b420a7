package wizard

import (
	"reflect"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// driver feeds messages to the model and runs the commands they return,
// feeding their messages back, like tea.Program does. Commands that do not
// answer within 150ms (cursor blinks at 530ms, discovery polls at 1s) are
// dropped; every other command returns at once, so the margin is for a
// loaded machine.
type driver struct {
	m     *Model
	quit  bool
	depth int
}

func (d *driver) send(msg tea.Msg) {
	_, cmd := d.m.Update(msg)
	d.run(cmd)
}

func (d *driver) run(cmd tea.Cmd) {
	if cmd == nil || d.depth > 200 {
		return
	}
	d.depth++
	defer func() { d.depth-- }()
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-ch:
	case <-time.After(150 * time.Millisecond):
		return
	}
	switch msg := msg.(type) {
	case nil:
	case tea.QuitMsg:
		d.quit = true
	case tea.BatchMsg:
		for _, c := range msg {
			d.run(c)
		}
	default:
		// tea.Sequence's message is an unexported slice of commands.
		if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeOf(tea.Cmd(nil)) {
			for i := 0; i < v.Len(); i++ {
				d.run(v.Index(i).Interface().(tea.Cmd))
			}
			return
		}
		if _, ok := msg.(tea.WindowSizeMsg); ok {
			return
		}
		d.send(msg)
	}
}

func (d *driver) keys(ks ...string) {
	for _, k := range ks {
		d.send(keyMsg(k))
	}
}

// typeText types s rune by rune.
func (d *driver) typeText(s string) {
	for _, r := range s {
		d.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

func keyMsg(s string) tea.KeyMsg {
	names := map[string]tea.KeyType{"enter": tea.KeyEnter, "esc": tea.KeyEsc, "up": tea.KeyUp, "down": tea.KeyDown,
		"tab": tea.KeyTab, "shift+tab": tea.KeyShiftTab, "ctrl+c": tea.KeyCtrlC, "ctrl+u": tea.KeyCtrlU, "backspace": tea.KeyBackspace}
	if t, ok := names[s]; ok {
		return tea.KeyMsg{Type: t}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}
