// Command tollgate is the command-line face of the tollgate library's simulator: it simulates
// and replays throttling scenarios in virtual time, imports traces, fits limiter rules, and
// serves a throttling AWS emulator on loopback. It links no AWS SDK service client, so it builds
// in seconds from a cold cache; the commands that drive real SDK clients or write Grafana
// dashboards (load, dashboard) live in cmd/tollgate-live.
//
// Every command answers --help with examples. Exit status: 0 success, 1 failure, 2 usage
// error, 3 nothing usable in the input, 4 refused by a work or memory limit, 130 interrupted
// (see internal/cli).
package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/tollgate/tollgate/internal/cli"
)

func main() {
	cli.Main(newRoot())
}

// execute runs tollgate with args and returns the exit status; the tests call it.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cli.Execute(ctx, newRoot(), args, stdout, stderr)
}

const rootLong = `tollgate compares retry strategies against AWS-shaped throttling in virtual time: the simulator
runs scenarios and replays traces through tollgate's backoff and limiter and through faithful
models of the AWS SDK's retry modes, and the emulator serves throttling AWS endpoints on loopback.

Two programs, so that the simulator builds fast from a cold cache:
  tollgate        simulate, replay, import, fit, brooker, emulate      (no AWS SDK service client)
  tollgate-live   load, dashboard: drive real aws-sdk-go-v2 clients (EC2, S3, DynamoDB, KMS,
                  Lambda, STS) and write Grafana dashboards; builds the SDK's service clients and
                  the Grafana Foundation SDK (minutes and ~3 GB of memory from a cold cache)
From a clone: go run ./cmd/tollgate ...   and   go run ./cmd/tollgate-live ...

Flags may come before or after arguments. Exit status:
  0    success
  1    failure: a bad input file (its file, line and field named), a failed run
  2    usage error: unknown flag, value out of range, an output that would overwrite an input
  3    nothing usable in the input; nothing is written
  4    refused: the run would exceed --max-work or --max-memory (or reached it); nothing is written
  130  interrupted (Ctrl-C, SIGTERM): stops within a second, leaves no partial output`

// movedCommands are commands that live in tollgate-live, with why.
var movedCommands = map[string]string{
	"load":      "it drives real AWS SDK clients",
	"dashboard": "it builds the Grafana Foundation SDK",
}

func newRoot() *cobra.Command {
	root := cli.NewRoot("tollgate", "simulate, replay and emulate AWS API throttling", rootLong)
	root.Example = `  tollgate simulate
  tollgate simulate examples/scenarios/fleet.yaml --strategies tollgate,sdk-standard --format markdown
  tollgate import access.log --out traces/
  tollgate replay traces/trace.jsonl --strategies tollgate,sdk-standard
  tollgate emulate --listen 127.0.0.1:4599`
	for name, why := range movedCommands {
		root.AddCommand(movedCommand(name, why))
	}
	root.AddCommand(newSimulateCommand(), newReplayCommand(), newImportCommand(), newFitCommand(),
		newBrookerCommand(), newEmulateCommand())
	return root
}

// movedCommand answers a command that lives in tollgate-live with a usage error saying where.
func movedCommand(name, why string) *cobra.Command {
	return &cobra.Command{
		Use:                name,
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(*cobra.Command, []string) error {
			return cli.Usagef("%s is a tollgate-live command (%s): go run ./cmd/tollgate-live %s", name, why, name)
		},
	}
}
