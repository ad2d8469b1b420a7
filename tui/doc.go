// Package tui holds what the interactive installer's screens share: how the
// terminal is detected (a terminal at all, a dumb or serial one that needs the
// accessible line-by-line mode) and the lipgloss styles that degrade to plain
// text where colours are missing. The screens live in sub-packages: progress
// (the live install view fed by installer/run events), wizard (the questions
// that build an install config) and discovery (machines seen PXE-booting).
// tui collects and draws; it never decides: every rule lives in
// installer/config's validator and every action in installer/run's steps.
package tui
