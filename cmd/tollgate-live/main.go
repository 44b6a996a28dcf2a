// Command tollgate-live holds tollgate's commands that drive real AWS SDK for Go v2 clients or
// write observability files: `load` (real EC2, S3, DynamoDB, KMS, Lambda and STS clients with
// tollgate against the emulator or an endpoint, serving /metrics) and `dashboard` (Grafana
// dashboards and provisioning). It is a separate program from cmd/tollgate because linking the
// SDK's service clients and the Grafana Foundation SDK takes minutes and gigabytes of memory from
// a cold build cache, which the simulator does not need.
//
// Every command answers --help with examples. Exit status: 0 success, 1 failure, 2 usage
// error, 3 nothing usable in the input, 130 interrupted (see internal/cli).
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

// execute runs tollgate-live with args and returns the exit status; the tests call it.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cli.Execute(ctx, newRoot(), args, stdout, stderr)
}

const rootLong = `tollgate-live holds tollgate's commands that drive real aws-sdk-go-v2 clients or write
observability files:

  load        real SDK clients (EC2, S3, DynamoDB, KMS, Lambda, STS) with tollgate, against the
              in-process emulator or an endpoint, serving Prometheus metrics while they run
  dashboard   Grafana dashboards (generated with the Grafana Foundation SDK) and provisioning

It is separate from 'tollgate' (simulate, replay, import, fit, brooker, emulate) because building
the SDK's service clients and the Grafana Foundation SDK takes minutes and about 3 GB of memory
from a cold build cache; the simulator needs neither.

Exit status: 0 success, 1 failure, 2 usage error, 130 interrupted.`

func newRoot() *cobra.Command {
	root := cli.NewRoot("tollgate-live", "drive real AWS SDK clients with tollgate and write Grafana dashboards", rootLong)
	root.Example = `  tollgate-live load --duration 30s --rate 150
  tollgate-live dashboard --out grafana/`
	root.AddCommand(newLoadCommand(), newDashboardCommand())
	return root
}
