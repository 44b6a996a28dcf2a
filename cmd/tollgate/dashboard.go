package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/tollgate/tollgate/metrics/dashboards"
)

func init() {
	register(&command{
		name:    "dashboard",
		summary: "write tollgate's Grafana dashboards with Grafana and Prometheus provisioning files",
		run:     runDashboard,
	})
}

const dashboardSynopsis = `dashboard --out DIR [--prometheus-url URL] [--target HOST:PORT]... [--job NAME]
                   [--scrape-interval 5s] [--dashboards-path PATH]

Writes tollgate's Grafana dashboards (JSON, schema version 42, generated with the Grafana
Foundation SDK) and the files that load them:

  DIR/dashboards/tollgate-overview.json                throttling, retries, backoff, limiter, latency
  DIR/dashboards/tollgate-sdk.json                     the AWS SDK's own client metrics
  DIR/dashboards/tollgate-emulator.json                the emulator's server-side view
  DIR/grafana/provisioning/dashboards/tollgate.yaml    Grafana dashboard provider
  DIR/grafana/provisioning/datasources/tollgate.yaml   Grafana Prometheus data source
  DIR/prometheus/prometheus.yml                        Prometheus config scraping --target

See examples/grafana/README.md for running Prometheus and Grafana with them.`

// runDashboard runs `tollgate dashboard`.
func runDashboard(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("dashboard", dashboardSynopsis, stdout)
	out := fs.String("out", "", "directory to write into (created if missing; existing files are replaced)")
	promURL := fs.String("prometheus-url", "http://127.0.0.1:9090", "URL Grafana reaches Prometheus at")
	var targets targetsFlag
	fs.Var(&targets, "target", "host:port Prometheus scrapes (repeatable; default "+dashboards.DefaultTarget+", where 'tollgate load' serves)")
	job := fs.String("job", "tollgate", "Prometheus job name of the targets")
	interval := fs.Duration("scrape-interval", 5*time.Second, "Prometheus scrape interval (whole seconds)")
	dashPath := fs.String("dashboards-path", "", "the dashboards directory as Grafana sees it (default: the absolute path of DIR/dashboards)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		return usagef("--out DIR is required")
	}
	if *interval < time.Second || *interval%time.Second != 0 {
		return usagef("--scrape-interval: want whole seconds, at least 1s, not %v", *interval)
	}
	files, err := dashboards.WriteFiles(*out, dashboards.Provisioning{
		PrometheusURL: *promURL, DashboardsPath: *dashPath, Targets: targets, Job: *job, ScrapeInterval: *interval,
	})
	if err != nil {
		if strings.Contains(err.Error(), "want ") {
			return usagef("%v", strings.TrimPrefix(err.Error(), "dashboards: "))
		}
		return err
	}
	fmt.Fprintf(stdout, "wrote %d files to %s:\n", len(files), *out)
	for _, f := range files {
		fmt.Fprintln(stdout, "  "+filepath.ToSlash(f))
	}
	fmt.Fprintf(stdout, `
Run Prometheus:  prometheus --config.file=%s --storage.tsdb.path=$(mktemp -d)
Run Grafana with GF_PATHS_PROVISIONING=%s
Then: tollgate load   (serves /metrics on %s)
`, filepath.Join(*out, dashboards.PrometheusConfigFile), filepath.Join(*out, "grafana", "provisioning"), firstTarget(targets))
	return nil
}

// targetsFlag collects --target values.
type targetsFlag []string

func (t *targetsFlag) String() string { return strings.Join(*t, ",") }

func (t *targetsFlag) Set(v string) error {
	*t = append(*t, v)
	return nil
}

func firstTarget(t []string) string {
	if len(t) == 0 {
		return dashboards.DefaultTarget
	}
	return t[0]
}
