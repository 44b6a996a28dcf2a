package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate/tollgate/internal/cli"
	"github.com/tollgate/tollgate/internal/outfile"
	"github.com/tollgate/tollgate/metrics/dashboards"
)

const dashboardLong = `Writes tollgate's Grafana dashboards (JSON, schema version 42, generated with the Grafana
Foundation SDK) and the files that load them:

  DIR/dashboards/tollgate-overview.json                throttling, retries, backoff, limiter, latency
  DIR/dashboards/tollgate-sdk.json                     the AWS SDK's own client metrics
  DIR/dashboards/tollgate-emulator.json                the emulator's server-side view
  DIR/grafana/provisioning/dashboards/tollgate.yaml    Grafana dashboard provider
  DIR/grafana/provisioning/datasources/tollgate.yaml   Grafana Prometheus data source
  DIR/prometheus/prometheus.yml                        Prometheus config scraping --target

Files are written whole (through temporary files renamed into place together); existing files
of the same names are replaced. See examples/grafana/README.md for running Prometheus and
Grafana with them.`

func newDashboardCommand() *cobra.Command {
	var (
		out, promURL, job, dashPath string
		targets                     []string
		interval                    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "dashboard --out DIR",
		Short: "write tollgate's Grafana dashboards with Grafana and Prometheus provisioning files",
		Long:  dashboardLong,
		Example: `  tollgate-live dashboard --out /tmp/tollgate-grafana
  tollgate-live dashboard --out grafana/ --target 10.0.0.5:9464 --target 10.0.0.6:9464 --scrape-interval 15s
  tollgate-live dashboard --out grafana/ --dashboards-path /var/lib/grafana/dashboards   # Grafana in a container`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return cli.Usagef("--out DIR is required")
			}
			if interval%time.Second != 0 {
				return cli.Usagef("--scrape-interval: want whole seconds, not %v", interval)
			}
			if dashPath == "" {
				// Where the dashboards end up, not the staging directory they are written to.
				abs, err := filepath.Abs(filepath.Join(out, dashboards.DashboardsDir))
				if err != nil {
					return err
				}
				dashPath = abs
			}
			var files []string
			_, err := outfile.WriteDir(cmd.Context(), out, nil, func(stage string) error {
				var err error
				files, err = dashboards.WriteFiles(stage, dashboards.Provisioning{
					PrometheusURL: promURL, DashboardsPath: dashPath, Targets: targets, Job: job, ScrapeInterval: interval,
				})
				return err
			})
			if err != nil {
				if strings.Contains(err.Error(), "want ") {
					return cli.Usagef("%v", strings.TrimPrefix(err.Error(), "dashboards: "))
				}
				return err
			}
			stdout := cmd.OutOrStdout()
			fmt.Fprintf(stdout, "wrote %d files to %s:\n", len(files), out)
			for _, f := range files {
				fmt.Fprintln(stdout, "  "+filepath.ToSlash(f))
			}
			fmt.Fprintf(stdout, `
Run Prometheus:  prometheus --config.file=%s --storage.tsdb.path=$(mktemp -d)
Run Grafana with GF_PATHS_PROVISIONING=%s
Then: tollgate-live load   (serves /metrics on %s)
`, filepath.Join(out, dashboards.PrometheusConfigFile), filepath.Join(out, "grafana", "provisioning"), firstTarget(targets))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "`DIR` to write into (created if missing; existing files of the same names are replaced)")
	_ = cmd.MarkFlagDirname("out")
	f.StringVar(&promURL, "prometheus-url", "http://127.0.0.1:9090", "`URL` Grafana reaches Prometheus at")
	f.StringArrayVar(&targets, "target", nil, "`HOST:PORT` Prometheus scrapes (repeatable; default "+dashboards.DefaultTarget+", where 'tollgate-live load' serves)")
	f.StringVar(&job, "job", "tollgate", "Prometheus job name of the targets")
	cli.DurationVar(f, &interval, "scrape-interval", 5*time.Second, cli.AtLeast(time.Second), "Prometheus scrape interval, in whole seconds")
	f.StringVar(&dashPath, "dashboards-path", "", "the dashboards directory as Grafana sees it, a `PATH` (default: the absolute path of DIR/dashboards)")
	return cmd
}

func firstTarget(t []string) string {
	if len(t) == 0 {
		return dashboards.DefaultTarget
	}
	return t[0]
}
