package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tollgate/tollgate/calibrate"
	"github.com/tollgate/tollgate/internal/cli"
	"github.com/tollgate/tollgate/internal/outfile"
	"github.com/tollgate/tollgate/simulate"
)

const calibrateLong = `Checks the simulator against reality on SCENARIO (a scenario file, as 'tollgate simulate'
reads, or a built-in scenario's name): for each strategy and seed it runs the scenario in real
time with real aws-sdk-go-v2 clients — the SDK's standard retryer (sdk-standard), its adaptive
retryer (sdk-adaptive), tollgate's one-line install (tollgate) — against an in-process emulator
configured from the scenario (server rules, capacity steps, fault windows, S3 partitions, retry
hints), then in virtual time with each group's round trip as the real run measured it, and
prints both side by side per strategy, group and API: throttled share, attempts per call, calls
failed by reason, client-side refusals, goodput, p50/p99 of successful calls and when the retry
quota ran out, with the relative error. Each side's figure is the median over the seeds.

Checks, as the simulator promises them: throttled share, attempts per call and calls failed
within ±25% of the real run, p50 of successful calls within ±50% or 50 ms (shares and counts
near zero get an absolute floor, printed beside each check).

The real runs take the scenario's duration each (strategies × seeds of them, and the calls in
flight at the end), one at a time. A scenario the machine cannot drive is scaled down (open-loop
rates, server capacities and tollgate's rules alike), and the report says by how much; late
starts and slow round trips are reported as warnings.`

func newCalibrateCommand() *cobra.Command {
	var (
		format, out, strategies string
		duration                time.Duration
		seeds                   int
		scale                   float64
	)
	cmd := &cobra.Command{
		Use:   "calibrate SCENARIO",
		Short: "run a scenario in virtual time and in real time with real SDK clients, and compare",
		Long:  calibrateLong,
		Example: `  tollgate-live calibrate examples/scenarios/calibrate-open.yaml
  tollgate-live calibrate examples/scenarios/calibrate-lambda.yaml --strategies tollgate,sdk-standard --seeds 1 --format markdown
  tollgate-live calibrate examples/scenarios/calibrate-closed.yaml --duration 10s --out calibration/`,
		Args: cli.ExactArgs(1, "SCENARIO"),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return simulate.EmbeddedScenarios(), cobra.ShellCompDirectiveDefault
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			g := outfile.NewGuard()
			var sc *simulate.Scenario
			if _, statErr := os.Stat(name); statErr == nil || strings.ContainsAny(name, "/.") {
				data, err := os.ReadFile(name)
				if err != nil {
					return fmt.Errorf("read scenario: %w", err)
				}
				if sc, err = simulate.ParseScenario(name, data, filepath.Dir(name)); err != nil {
					return err
				}
				g.Add(name)
				for _, ref := range simulate.ScenarioFiles(data, filepath.Dir(name)) {
					g.Add(ref)
				}
			} else {
				var err error
				if sc, _, err = simulate.EmbeddedScenario(name); err != nil {
					return err
				}
			}
			opts := calibrate.Options{Seeds: seeds, Duration: duration, Scale: scale}
			if strategies != "" {
				for _, s := range strings.Split(strategies, ",") {
					s = strings.TrimSpace(s)
					if !slices.Contains(calibrate.Strategies, s) {
						return cli.Usagef("--strategies: %q cannot run with real clients (known: %s)", s, strings.Join(calibrate.Strategies, ", "))
					}
					if slices.Contains(opts.Strategies, s) {
						return cli.Usagef("--strategies: %q given twice", s)
					}
					opts.Strategies = append(opts.Strategies, s)
				}
			}
			names := opts.Strategies
			if len(names) == 0 {
				names = calibrate.Strategies
			}
			if out != "" {
				if err := g.Check(out); err != nil {
					return err
				}
				for _, f := range append([]string{"report.json", "report.md", "report.txt"}, calibrate.PlotFiles(names)...) {
					if err := g.Check(filepath.Join(out, f)); err != nil {
						return err
					}
				}
			}
			stderr := cmd.ErrOrStderr()
			opts.Progress = calibrateProgress(stderr)
			rep, err := calibrate.Run(cmd.Context(), sc, opts)
			if opts.Progress != nil {
				fmt.Fprint(stderr, "\r\033[K")
			}
			if err != nil {
				return err
			}
			if err := rep.Write(cmd.OutOrStdout(), format); err != nil {
				return err
			}
			if out == "" {
				return nil
			}
			files, err := outfile.WriteDir(cmd.Context(), out, g, func(stage string) error {
				for f, fm := range map[string]string{"report.json": "json", "report.md": "markdown", "report.txt": "table"} {
					var b bytes.Buffer
					if err := rep.Write(&b, fm); err != nil {
						return err
					}
					if err := os.WriteFile(filepath.Join(stage, f), b.Bytes(), 0o644); err != nil {
						return err
					}
				}
				_, err := rep.Plot(stage)
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "tollgate-live calibrate: wrote %s to %s\n", strings.Join(files, ", "), out)
			return nil
		},
	}
	f := cmd.Flags()
	cli.DurationVar(f, &duration, "duration", 0, cli.AtLeast(time.Duration(0)), "how long each run starts calls (0: the scenario's duration)")
	f.StringVar(&strategies, "strategies", "", "comma-separated `LIST` of strategies (default: "+strings.Join(calibrate.Strategies, ",")+")")
	cli.IntVar(f, &seeds, "seeds", 3, cli.Between(1, 100), "seeds per strategy (the scenario's seed, +1, ...); each side's figure is the median over them")
	cli.FloatVar(f, &scale, "scale", 0, cli.Between(0.0, 1.0), "scale open-loop rates, server capacities and tollgate's rules by this factor (0: as far as a probe of the machine says; 1: as written)")
	cli.FormatVar(cmd, &format, "the comparison")
	f.StringVar(&out, "out", "", "also write report.json, report.md, report.txt and a plot per strategy (virtual beside real attempts over time; SVG and PNG) to directory `DIR`")
	_ = cmd.MarkFlagDirname("out")
	return cmd
}

// calibrateProgress returns a progress callback that keeps one status line on stderr when
// stderr is a terminal, and nil otherwise.
func calibrateProgress(stderr io.Writer) func(calibrate.Progress) {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	var mu sync.Mutex
	return func(p calibrate.Progress) {
		mu.Lock()
		defer mu.Unlock()
		switch p.Step {
		case "probe":
			fmt.Fprint(f, "\r\033[Kprobing what this machine can drive...")
		case "real":
			fmt.Fprintf(f, "\r\033[Krun %d of %d: %s, seed %d, real time %.0fs of %v", p.Run, p.Of, p.Strategy, p.Seed, p.Elapsed.Seconds(), p.Duration)
		default:
			fmt.Fprintf(f, "\r\033[Krun %d of %d: %s, seed %d, virtual time", p.Run, p.Of, p.Strategy, p.Seed)
		}
	}
}
