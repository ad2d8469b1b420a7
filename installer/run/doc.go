// Package run executes an install plan: it runs each step through the
// executor registered for its kind, emits typed Events (for the TUI, for
// text lines, for JSON lines), and persists progress atomically in a state
// directory so that a rerun after a crash, Ctrl-C or kill -9 resumes where
// the last run stopped and ends in the same state.
//
// It knows nothing of what steps do; executors live in installer/steps.
package run
