package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/tollgate/tollgate/internal/cli"
	"github.com/tollgate/tollgate/load"
	"github.com/tollgate/tollgate/metrics"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/emulator"
)

// scenarioLoad is `tollgate-live load --scenario FILE`: its flags.
type scenarioLoad struct {
	path, retryer, listen, format string
	allowRemote, native           bool
	seed                          uint64
	duration                      time.Duration
}

// scenarioConflicts are the load flags a scenario says for itself.
var scenarioConflicts = []string{"mix", "rate", "concurrency", "arrivals", "endpoint", "rules", "max-wait", "timeout",
	"max-attempts", "region", "emulator-rules", "emulator-faults", "emulator-latency", "emulator-jitter"}

// runScenarioLoad runs a scenario file's workload with real SDK clients against an in-process
// emulator that serves its server side.
func runScenarioLoad(cmd *cobra.Command, o scenarioLoad) error {
	ctx, stdout, stderr := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	for _, f := range scenarioConflicts {
		if cmd.Flags().Changed(f) {
			return cli.Usagef("--%s does not apply with --scenario: the scenario says it (groups, loops, rates, timeouts, round trips, its server side)", f)
		}
	}
	if o.listen != "none" {
		if err := emulator.CheckListenAddr(o.listen, o.allowRemote); err != nil {
			return cli.Usagef("--listen: %v", strings.TrimPrefix(err.Error(), "emulator: "))
		}
	}
	data, err := os.ReadFile(o.path)
	if err != nil {
		return fmt.Errorf("read scenario: %w", err)
	}
	sc, err := simulate.ParseScenario(o.path, data, filepath.Dir(o.path))
	if err != nil {
		return err
	}
	if cmd.Flags().Changed("duration") {
		sc.Duration = o.duration
	}
	if cmd.Flags().Changed("seed") {
		sc.Seed = o.seed
	}
	if err := sc.Validate(); err != nil {
		return err
	}
	eopts, err := load.EmulatorOptions(sc)
	if err != nil {
		return err
	}
	e, err := emulator.New(eopts)
	if err != nil {
		return err
	}
	if err := e.Listen("127.0.0.1:0"); err != nil {
		return err
	}
	if err := e.Start(ctx); err != nil {
		e.Close()
		return err
	}
	defer e.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	col, err := metrics.Register(reg, metrics.Options{NativeHistograms: o.native})
	if err != nil {
		return err
	}
	if o.listen != "none" {
		stopServing, metricsURL, err := serveMetrics(o.listen, prometheus.Gatherers{reg, e.Gatherer()}, stderr)
		if err != nil {
			return err
		}
		defer stopServing()
		fmt.Fprintf(stderr, "tollgate-live load: metrics on %s\n", metricsURL)
	}
	fmt.Fprintf(stderr, "tollgate-live load: scenario %s (%v) against %s with the %s retryer\n", sc.Name, sc.Duration, e.URL(), o.retryer)
	progress, err := loadProgress(stderr, sc.Duration)
	if err != nil {
		return err
	}
	rep, err := load.RunScenario(ctx, load.ScenarioConfig{Scenario: sc, Endpoint: e.URL(), Retryer: o.retryer,
		Seed: sc.RunSeed(0), Observer: col, OnStart: e.SetOrigin, Progress: progress})
	if err != nil {
		return err
	}
	if progress != nil {
		fmt.Fprintln(stderr)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "tollgate-live load: interrupted; summary of the calls made so far:")
	}
	return rep.Write(stdout, o.format)
}
