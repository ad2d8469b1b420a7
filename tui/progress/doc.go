// Package progress is the live install view: a Bubble Tea model that draws the
// installer's event stream (installer/run.Event) as a step list with states,
// an overall progress bar, one row per machine with its boot state and a bar
// for downloads and builds, and a scrollable log pane. It has no logic of its
// own: every row is a fold of the events it was sent, in order. Events arrive
// as messages from a channel (Start/Emit), so the runner never touches the
// screen; the same program runs headless (tea.WithoutRenderer) in tests. It
// must not import the steps or start anything: stopping the install is a
// Cancel func the caller hands in.
package progress
