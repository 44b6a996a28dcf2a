package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/plot"
	"github.com/tollgate/tollgate/simulate/report"
)

func init() {
	register(&command{
		name:    "simulate",
		summary: "run a scenario in virtual time and compare retry strategies",
		run:     runSimulate,
	})
}

// outputFlags are the flags every simulator command shares.
type outputFlags struct {
	format string
	out    string
	seed   uint64
}

func (o *outputFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.format, "format", "table", "output format: "+strings.Join(report.Formats, ", "))
	fs.StringVar(&o.out, "out", "", "also write the report (JSON and Markdown) and plots (SVG and PNG) to this directory")
	fs.Uint64Var(&o.seed, "seed", 0, "random seed (0: the scenario's own)")
}

func (o *outputFlags) check() error {
	for _, f := range report.Formats {
		if o.format == f {
			return nil
		}
	}
	return usagef("--format: want one of %s, not %q", strings.Join(report.Formats, ", "), o.format)
}

// progress returns a progress callback drawing a bar on stderr when stderr is a terminal, and
// a function to call when done; both are no-ops otherwise.
func progress(stderr io.Writer, what string) (func(done, total int), func()) {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, func() {}
	}
	var (
		mu  sync.Mutex
		bar *progressbar.ProgressBar
	)
	update := func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(f), progressbar.OptionSetDescription(what),
				progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(30))
		}
		_ = bar.Set(done)
	}
	finish := func() {
		mu.Lock()
		defer mu.Unlock()
		if bar != nil {
			_ = bar.Finish()
			_ = bar.Clear()
		}
	}
	return update, finish
}

// writeComparison prints c in the chosen format and, with --out, writes report files and plots.
func writeComparison(stdout io.Writer, o *outputFlags, c *simulate.Comparison) error {
	if err := report.Write(stdout, o.format, c); err != nil {
		return err
	}
	if o.out == "" {
		return nil
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	for _, out := range []struct {
		name   string
		format string
	}{{"report.json", "json"}, {"report.md", "markdown"}, {"report.txt", "table"}} {
		if err := writeFile(filepath.Join(o.out, out.name), func(w io.Writer) error { return report.Write(w, out.format, c) }); err != nil {
			return err
		}
	}
	files, err := plot.Comparison(c, o.out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s: report.json, report.md, report.txt, %s\n", o.out, strings.Join(files, ", "))
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("simulate", "simulate [flags] [SCENARIO]\n\n"+
		"Runs SCENARIO (a YAML file, or the name of a built-in scenario: "+strings.Join(simulate.EmbeddedScenarios(), ", ")+
		")\nin virtual time under each strategy and prints the comparison. Without SCENARIO it runs the built-in\n"+
		"\"default\" scenario.", stdout)
	var o outputFlags
	o.register(fs)
	runs := fs.Int("runs", 0, "seeds to run per strategy (0: the scenario's)")
	strategies := fs.String("strategies", "", "comma-separated strategies to compare (default: the scenario's; known: "+strings.Join(simulate.StrategyNames(), ", ")+")")
	parallel := fs.Int("parallel", 0, "runs to execute at once (0: every core)")
	show := fs.Bool("print-scenario", false, "print the scenario's YAML and exit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usagef("want at most one SCENARIO, got %d arguments", fs.NArg())
	}
	if *runs < 0 || *parallel < 0 {
		return usagef("--runs and --parallel must be >= 0")
	}
	name := simulate.DefaultScenarioName
	if fs.NArg() == 1 {
		name = fs.Arg(0)
	}
	var (
		sc   *simulate.Scenario
		data []byte
		err  error
	)
	if _, statErr := os.Stat(name); statErr == nil || strings.ContainsAny(name, "/.") {
		data, err = os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("read scenario: %w", err)
		}
		sc, err = simulate.ParseScenario(name, data, filepath.Dir(name))
	} else {
		sc, data, err = simulate.EmbeddedScenario(name)
	}
	if err != nil {
		return err
	}
	if *show {
		_, err := stdout.Write(data)
		return err
	}
	if o.seed != 0 {
		sc.Seed = o.seed
	}
	if *runs > 0 {
		sc.Runs = *runs
	}
	if *strategies != "" {
		list, err := simulate.ParseStrategies(*strategies, simulate.StrategyOptions{})
		if err != nil {
			return usagef("--strategies: %v", strings.TrimPrefix(err.Error(), "simulate: "))
		}
		sc.Strategies = nil
		for _, s := range list {
			sc.Strategies = append(sc.Strategies, s.Name())
		}
	}
	update, finish := progress(stderr, "simulating")
	c, err := simulate.Simulate(ctx, sc, simulate.Options{Parallelism: *parallel, Progress: update})
	finish()
	if err != nil {
		return err
	}
	return writeComparison(stdout, &o, c)
}
