package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tollgate/tollgate/internal/outfile"
	"github.com/tollgate/tollgate/simulate"
)

// Exit statuses; see the package documentation.
const (
	ExitOK            = 0
	ExitFailure       = 1
	ExitUsage         = 2
	ExitNothingUsable = 3
	ExitRefused       = 4
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
		le *simulate.LimitError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue), errors.As(err, &ie):
		return ExitUsage
	case errors.As(err, &ne):
		return ExitNothingUsable
	case errors.As(err, &le):
		return ExitRefused
	}
	return ExitFailure
}

// limitMessage says what a *simulate.LimitError refused in the CLI's terms: the flag that
// raises the limit (--max-work, --max-memory) instead of the library's field.
func limitMessage(e *simulate.LimitError) string {
	flag := "--max-work"
	if e.Resource == "memory" {
		flag = "--max-memory"
	}
	msg := strings.TrimPrefix(e.Error(), "simulate: ")
	msg = strings.NewReplacer("(Limits.MaxWork)", "("+flag+")", "(Limits.MaxMemory)", "("+flag+")").Replace(msg)
	return strings.Replace(msg, "or raise the limit", "or raise "+flag+" (-1: no limit)", 1)
}
