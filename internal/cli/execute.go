package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate/tollgate/internal/redact"
	"github.com/tollgate/tollgate/simulate"
)

// Execute runs root with args, writing to stdout and stderr, and returns the exit status. It
// prints the error of a failed command once, as "PROGRAM COMMAND: message", and maps it to an
// exit status (see the package documentation): errors cobra raises before the command runs
// (unknown commands and flags, bad flag values, wrong arguments) are usage errors; a command's
// own errors are failures unless typed (*UsageError, *NothingUsableError, *outfile.InputError,
// *simulate.LimitError);
// an error after ctx was cancelled is an interruption. Signed query parameters and user
// information of URLs in the message are redacted.
func Execute(ctx context.Context, root *cobra.Command, args []string, stdout, stderr io.Writer) int {
	started := false
	prepare(root, &started)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	if cmd == nil {
		cmd = root
	}
	name := cmd.CommandPath()
	msg := strings.TrimPrefix(err.Error(), cmd.Name()+": ")
	var le *simulate.LimitError
	if errors.As(err, &le) {
		msg = limitMessage(le)
	}
	// A URL in a message (an endpoint, a presigned URL in an SDK error) loses its signature
	// and credentials before it leaves the process.
	msg = redact.String(msg)
	switch {
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "%s: interrupted\n", name)
		return ExitInterrupted
	case !started:
		err = &UsageError{Err: err}
	}
	code := ExitCode(err)
	fmt.Fprintf(stderr, "%s: %s\n", name, msg)
	if code == ExitUsage {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", name)
	}
	return code
}

// prepare sets root up for Execute: errors are printed by Execute (not by cobra, not with the
// usage text), flag errors are usage errors, and *started is set once the command's own code
// runs, which tells cobra's argument and flag errors from the command's.
func prepare(root *cobra.Command, started *bool) {
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		*started = true
		return nil
	}
}
