package run

import (
	"errors"
	"fmt"
)

// Failure is a step error that tells the operator what to do next.
type Failure struct {
	Err  error
	Next string
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// Failf makes a Failure: what went wrong (format) and the next action.
func Failf(next, format string, args ...any) error {
	return &Failure{Err: fmt.Errorf(format, args...), Next: next}
}

// nextAction finds the operator's next action in err, or a generic one.
func nextAction(err error) string {
	var f *Failure
	if errors.As(err, &f) && f.Next != "" {
		return f.Next
	}
	return "fix the cause, then run the same `vela install` command again: it resumes at this step"
}

// MissingExecutorsError lists step kinds this build cannot execute.
type MissingExecutorsError struct{ Kinds []string }

func (e *MissingExecutorsError) Error() string {
	return fmt.Sprintf("this build of vela cannot execute these steps yet: %v; `vela install --dry-run` shows the whole plan", e.Kinds)
}
