package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate/tollgate/internal/outfile"
)

// InterruptGrace is how long a command may take to stop after SIGINT or SIGTERM before Main
// ends the process itself. Commands check their context between records, events and points,
// and stop in milliseconds; the grace only bounds a command blocked where it cannot look (a
// read from a terminal or a pipe that nobody writes to).
const InterruptGrace = 500 * time.Millisecond

// Main runs root with the process's arguments and exits with its status (see Execute). SIGINT
// or SIGTERM cancels the command's context: the command stops, removes what it was writing
// and exits 130. If it has not returned InterruptGrace after the signal, or a second signal
// comes, Main removes every temporary output (outfile.RemovePending) and exits 130 at once: an
// interrupt stops every command within a second, and never leaves a partial output file.
func Main(root *cobra.Command) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	os.Exit(run(root, os.Args[1:], os.Stdout, os.Stderr, sigs, InterruptGrace))
}

// run is Main with its signals, outputs and grace given.
func run(root *cobra.Command, args []string, stdout, stderr io.Writer, sigs <-chan os.Signal, grace time.Duration) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- Execute(ctx, root, args, stdout, stderr) }()
	select {
	case code := <-done:
		return code
	case <-sigs:
		cancel()
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case code := <-done:
		return code
	case <-sigs:
	case <-timer.C:
	}
	outfile.RemovePending()
	name := root.Name()
	if cmd, _, err := root.Find(args); err == nil && cmd != nil {
		name = cmd.CommandPath()
	}
	fmt.Fprintf(stderr, "%s: interrupted (stopped at once: it had not finished %v after the signal; its unfinished outputs are removed)\n", name, grace)
	return ExitInterrupted
}
