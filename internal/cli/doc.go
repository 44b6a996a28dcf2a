// Package cli is what tollgate's two command-line programs share: how a command's error becomes
// an exit status and a message, the exit statuses themselves, flags that validate their values
// against a range shown in --help, and the version and completion commands.
//
// Both programs are built on github.com/spf13/cobra: flags may come before or after positional
// arguments, every command answers --help with examples, and `completion bash|zsh|fish|powershell`
// prints a shell completion script.
//
// # Exit status
//
//	0    success (and --help)
//	1    failure: bad input file, I/O error, a run that failed
//	2    usage error: unknown command or flag, a flag value out of range, a wrong number of
//	     arguments, an output that would overwrite an input
//	3    nothing usable: the input held no record the command could use (an import that wrote
//	     nothing, a replay of zero requests, a fit with no bucket to estimate); nothing is written
//	4    refused: the run would exceed (or reached) its work or memory limit, --max-work or
//	     --max-memory (a *simulate.LimitError); nothing is written; raise the flag or shrink
//	     the input
//	130  interrupted (SIGINT or SIGTERM); no partial output file is left behind
//
// # Interrupts
//
// Main turns SIGINT and SIGTERM into the cancellation of the command's context. Commands check
// it between records, events and points and stop within milliseconds; one still running
// InterruptGrace after the signal (blocked reading a terminal, say), or a second signal, ends
// the process at once, after removing its temporary outputs (outfile.RemovePending). Either
// way the process exits 130 within a second of the signal.
//
// # Messages
//
// Errors are printed once, as "PROGRAM COMMAND: message" on standard error. Library errors
// start with their package's name; when that name is the command's own ("simulate: ..." from
// `tollgate simulate`) it is not repeated. Usage errors add a line pointing at --help.
package cli
