package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/plot"
	"github.com/tollgate/tollgate/simulate/report"
)

func init() {
	register(&command{
		name:    "brooker",
		summary: "reproduce \"Exponential Backoff And Jitter\" (Brooker, 2015) with tollgate's backoff",
		run:     runBrooker,
	})
}

// parseClients parses "10..190" (step 10), "10..190/20" (step 20) or "10,50,100".
func parseClients(s string) ([]int, error) {
	if lo, rest, ok := strings.Cut(s, ".."); ok {
		hi, stepStr, hasStep := strings.Cut(rest, "/")
		step := 10
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		var err3 error
		if hasStep {
			step, err3 = strconv.Atoi(stepStr)
		}
		if err1 != nil || err2 != nil || err3 != nil || a <= 0 || b < a || step <= 0 {
			return nil, fmt.Errorf("want FROM..TO[/STEP] with 0 < FROM <= TO, not %q", s)
		}
		var out []int
		for n := a; n <= b; n += step {
			out = append(out, n)
		}
		return out, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("want client counts > 0, not %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func runBrooker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("brooker", "brooker [flags]\n\n"+
		"Reproduces Marc Brooker's \"Exponential Backoff And Jitter\" (AWS Architecture Blog, 2015): N clients each\n"+
		"need one successful write to one row under optimistic concurrency; every network hop takes |N(10ms, 2ms)|;\n"+
		"a client whose write conflicts backs off (tollgate's backoff package: base 5ms, cap 2s) and tries again.\n"+
		"Prints the mean work (writes) and completion time per client count and jitter kind.", stdout)
	var o outputFlags
	o.register(fs)
	clients := fs.String("clients", "10..190", "client counts: FROM..TO[/STEP] (step 10) or a comma-separated list")
	runs := fs.Int("runs", 100, "runs per point, averaged")
	jitters := fs.String("jitters", "none,equal,full,decorrelated", "jitter kinds to compare")
	parallel := fs.Int("parallel", 0, "points to compute at once (0: every core)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	cfg := simulate.BrookerConfig{Runs: *runs, Seed: o.seed}
	var err error
	if cfg.Clients, err = parseClients(*clients); err != nil {
		return usagef("--clients: %v", err)
	}
	if *runs <= 0 {
		return usagef("--runs must be > 0")
	}
	for _, j := range strings.Split(*jitters, ",") {
		jit, err := backoff.ParseJitter(strings.TrimSpace(j))
		if err != nil {
			return usagef("--jitters: %v", err)
		}
		cfg.Jitters = append(cfg.Jitters, jit)
	}
	update, finish := progress(stderr, "brooker")
	r, err := simulate.Brooker(ctx, cfg, simulate.Options{Parallelism: *parallel, Progress: update})
	finish()
	if err != nil {
		return err
	}
	if err := report.WriteBrooker(stdout, o.format, r); err != nil {
		return err
	}
	if o.out == "" {
		return nil
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	for _, f := range []struct{ name, format string }{{"brooker.json", "json"}, {"brooker.md", "markdown"}, {"brooker.txt", "table"}} {
		if err := writeFile(filepath.Join(o.out, f.name), func(w io.Writer) error { return report.WriteBrooker(w, f.format, r) }); err != nil {
			return err
		}
	}
	files, err := plot.Brooker(r, o.out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s: brooker.json, brooker.md, brooker.txt, %s\n", o.out, strings.Join(files, ", "))
	return nil
}
