package main

import (
	"errors"
	"fmt"
	"syscall"
)

// Exit statuses, decided in one place (Main).
const (
	exitOK      = 0
	exitFinding = 1 // --fail-on matched, or a check's expectation failed
	exitUsage   = 2 // bad arguments, input that cannot be read, output that cannot be written
)

// exitInterrupted is the status of a run a signal interrupted, as a shell
// reports it: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).
func exitInterrupted(sig syscall.Signal) int { return 128 + int(sig) }

// findingError reports a finding the user asked to fail on: exit 1.
type findingError struct{ msg string }

func (e *findingError) Error() string { return e.msg }

// inputError reports input that could not be read: exit 2. What could be
// read was still analysed and reported.
type inputError struct{ errs []error }

func (e *inputError) Error() string { return errors.Join(e.errs...).Error() }

// usageError reports bad arguments: exit 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitCode maps a command's error to the process's exit status.
func exitCode(err error) int {
	var f *findingError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &f):
		return exitFinding
	}
	return exitUsage
}
