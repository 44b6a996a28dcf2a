package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/tollgate/tollgate/internal/cli"
	"github.com/tollgate/tollgate/internal/outfile"
	"github.com/tollgate/tollgate/simulate"
)

func newSimulateCommand() *cobra.Command {
	var (
		o          reportFlags
		runs       int
		strategies string
		parallel   int
		show       bool
		estimate   bool
		lim        limitFlags
	)
	cmd := &cobra.Command{
		Use:   "simulate [SCENARIO]",
		Short: "run a scenario in virtual time and compare retry strategies",
		Long: `Runs SCENARIO — a YAML file, or the name of a built-in scenario (` + strings.Join(simulate.EmbeddedScenarios(), ", ") + `) —
in virtual time under each strategy and prints how each fares on the same arrivals: requests,
attempts, successes, throttled attempts, give-ups, goodput, share of the server's capacity,
amplification and latency. Without SCENARIO it runs the built-in "` + simulate.DefaultScenarioName + `" scenario.

A scenario's fields are documented in 'go doc github.com/tollgate/tollgate/simulate'; errors
name the file, line and field. The report is reproducible byte for byte for a seed.

Before it starts, a run's work (calls + attempts) and memory are estimated; a run above
--max-work or --max-memory is refused (exit status 4) with what it would need, and a run that
reaches a limit while running stops the same way. --estimate prints the estimate and exits.

Strategies: ` + strings.Join(simulate.StrategyNames(), ", ") + `.`,
		Example: `  tollgate simulate
  tollgate simulate examples/scenarios/fleet.yaml --format markdown
  tollgate simulate --strategies tollgate,sdk-standard --runs 5 --seed 42 --out report/
  tollgate simulate --print-scenario > my.yaml      # start your own from the built-in one
  tollgate simulate my.yaml --estimate              # work and memory, without running it
  tollgate simulate my.yaml --max-work 5e9 --max-memory 4GiB`,
		Args: cli.MaxArgs(1, "SCENARIO"),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return simulate.EmbeddedScenarios(), cobra.ShellCompDirectiveDefault
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name := simulate.DefaultScenarioName
			if len(args) == 1 {
				name = args[0]
			}
			var (
				sc   *simulate.Scenario
				data []byte
				err  error
			)
			g := outfile.NewGuard()
			if _, statErr := os.Stat(name); statErr == nil || strings.ContainsAny(name, "/.") {
				if data, err = readInputFile(name, simulate.MaxScenarioBytes, "scenario"); err != nil {
					return err
				}
				if sc, err = simulate.ParseScenario(name, data, filepath.Dir(name)); err != nil {
					return err
				}
				g.Add(name)
				for _, ref := range scenarioFiles(data) {
					if ref != "" && !filepath.IsAbs(ref) {
						ref = filepath.Join(filepath.Dir(name), ref)
					}
					g.Add(ref)
				}
				if err := checkOutputs(g, o.out, comparisonFiles); err != nil {
					return err
				}
			} else {
				sc, data, err = simulate.EmbeddedScenario(name)
			}
			if err != nil {
				return err
			}
			if show {
				_, err := cmd.OutOrStdout().Write(data)
				return err
			}
			if o.seed != 0 {
				sc.Seed = o.seed
			}
			if runs > 0 {
				sc.Runs = runs
			}
			if strategies != "" {
				list, err := simulate.ParseStrategies(strategies, simulate.StrategyOptions{})
				if err != nil {
					return cli.Usagef("--strategies: %v", strings.TrimPrefix(err.Error(), "simulate: "))
				}
				sc.Strategies = nil
				for _, s := range list {
					sc.Strategies = append(sc.Strategies, s.Name())
				}
			}
			opts := simulate.Options{Parallelism: parallel, Limits: lim.limits()}
			if estimate {
				return writeEstimate(cmd.OutOrStdout(), o.format, sc, opts)
			}
			update, finish := progress(cmd.ErrOrStderr(), "simulating")
			opts.Progress = update
			c, err := simulate.Simulate(cmd.Context(), sc, opts)
			finish()
			if err != nil {
				return err
			}
			return writeComparison(cmd.Context(), cmd.OutOrStdout(), &o, g, c)
		},
	}
	o.register(cmd, "report.json, report.md, report.txt and plots (goodput, throttles, latency CDF; SVG and PNG)",
		"random seed (0: the scenario's own)")
	f := cmd.Flags()
	cli.IntVar(f, &runs, "runs", 0, cli.AtLeast(0), "seeds to run per strategy, summed (0: the scenario's)")
	f.StringVar(&strategies, "strategies", "", "comma-separated `LIST` of strategies to compare (default: the scenario's; known: "+strings.Join(simulate.StrategyNames(), ", ")+", or all)")
	_ = cmd.RegisterFlagCompletionFunc("strategies", completeStrategies)
	cli.IntVar(f, &parallel, "parallel", 0, cli.AtLeast(0), "runs to execute at once (0: every core)")
	f.BoolVar(&show, "print-scenario", false, "print the scenario's YAML and exit")
	f.BoolVar(&estimate, "estimate", false, "print the run's estimated work and memory against --max-work and --max-memory, and exit without running it "+
		"(exit status 4 if a limit would refuse it)")
	lim.registerWork(f)
	lim.registerMemory(f, "the runs executing at once")
	return cmd
}

// scenarioFiles returns the files a scenario names (server rules and faults, tollgate rules),
// relative to its directory, so that --out never writes over them. Keywords such as
// "defaults" are returned too; the guard ignores names that are not files.
func scenarioFiles(data []byte) []string {
	var refs struct {
		Server struct {
			Rules  string `yaml:"rules"`
			Faults string `yaml:"faults"`
		} `yaml:"server"`
		Tollgate struct {
			Rules string `yaml:"rules"`
		} `yaml:"tollgate"`
	}
	_ = yaml.Unmarshal(data, &refs) // a broken scenario is reported by ParseScenario
	return []string{refs.Server.Rules, refs.Server.Faults, refs.Tollgate.Rules}
}

// completeStrategies completes a comma-separated list of strategy names.
func completeStrategies(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	prefix := ""
	if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
		prefix = toComplete[:i+1]
	}
	var out []string
	for _, s := range append(simulate.StrategyNames(), "all") {
		out = append(out, prefix+s)
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}
