package cli

import (
	"errors"
	"fmt"

	"github.com/tollgate/tollgate/internal/outfile"
)

// Exit statuses; see the package documentation.
const (
	ExitOK            = 0
	ExitFailure       = 1
	ExitUsage         = 2
	ExitNothingUsable = 3
	ExitInterrupted   = 130
)

// UsageError is an error in how a command was invoked (exit status 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// NothingUsableError says the input held nothing the command could use (exit status 3).
type NothingUsableError struct{ Err error }

func (e *NothingUsableError) Error() string { return e.Err.Error() }
func (e *NothingUsableError) Unwrap() error { return e.Err }

// NothingUsablef returns a *NothingUsableError with a formatted message.
func NothingUsablef(format string, args ...any) error {
	return &NothingUsableError{Err: fmt.Errorf(format, args...)}
}

// ExitCode returns the exit status for err from a command's RunE (nil: 0).
func ExitCode(err error) int {
	var (
		ue *UsageError
		ne *NothingUsableError
		ie *outfile.InputError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue), errors.As(err, &ie):
		return ExitUsage
	case errors.As(err, &ne):
		return ExitNothingUsable
	}
	return ExitFailure
}
