package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/internal/cli"
	"github.com/tollgate/tollgate/internal/outfile"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/plot"
	"github.com/tollgate/tollgate/simulate/report"
)

// maxBrookerClients bounds --clients, as simulate.Brooker does; --max-memory bounds what the
// points computed at once hold (a client takes about a hundred bytes).
const maxBrookerClients = math.MaxInt32

// maxBrookerPoints bounds the client counts of one --clients.
const maxBrookerPoints = 1000

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
		if err1 != nil || err2 != nil || err3 != nil || a <= 0 || b < a || step <= 0 || b > maxBrookerClients {
			return nil, fmt.Errorf("want FROM..TO[/STEP] with 0 < FROM <= TO <= %d and STEP > 0, not %q", maxBrookerClients, s)
		}
		if (b-a)/step+1 > maxBrookerPoints {
			return nil, fmt.Errorf("%q gives %d client counts, more than %d", s, (b-a)/step+1, maxBrookerPoints)
		}
		var out []int
		for n := a; n <= b; n += step {
			out = append(out, n)
		}
		return out, nil
	}
	fields := strings.Split(s, ",")
	if len(fields) > maxBrookerPoints {
		return nil, fmt.Errorf("%d client counts, more than %d", len(fields), maxBrookerPoints)
	}
	var out []int
	for _, f := range fields {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || n > maxBrookerClients {
			return nil, fmt.Errorf("want client counts from 1 to %d, not %q", maxBrookerClients, f)
		}
		out = append(out, n)
	}
	return out, nil
}

func newBrookerCommand() *cobra.Command {
	var (
		o                reportFlags
		clients, jitters string
		runs, parallel   int
		lim              limitFlags
	)
	cmd := &cobra.Command{
		Use:   "brooker",
		Short: `reproduce "Exponential Backoff And Jitter" (Brooker, 2015) with tollgate's backoff`,
		Long: `Reproduces Marc Brooker's "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015,
https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/): N clients each need
one successful write to one row under optimistic concurrency; every network hop takes
|N(10ms, 2ms)|; a client whose write conflicts backs off (tollgate's backoff package: base 5ms,
cap 2s) and tries again. Prints the mean work (writes) and completion time per client count and
jitter kind. Client counts whose points at once would hold more than --max-memory are refused
(exit status 4).`,
		Example: `  tollgate brooker
  tollgate brooker --clients 10..100/30 --runs 20 --jitters none,full
  tollgate brooker --out brooker/ --format markdown`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := simulate.BrookerConfig{Runs: runs, Seed: o.seed}
			var err error
			if cfg.Clients, err = parseClients(clients); err != nil {
				return cli.Usagef("--clients: %v", err)
			}
			for _, j := range strings.Split(jitters, ",") {
				jit, err := backoff.ParseJitter(strings.TrimSpace(j))
				if err != nil {
					return cli.Usagef("--jitters: %v", err)
				}
				cfg.Jitters = append(cfg.Jitters, jit)
			}
			update, finish := progress(cmd.ErrOrStderr(), "brooker")
			r, err := simulate.Brooker(cmd.Context(), cfg, simulate.Options{Parallelism: parallel, Progress: update, Limits: lim.limits()})
			finish()
			if err != nil {
				return err
			}
			stdout := cmd.OutOrStdout()
			if err := report.WriteBrooker(stdout, o.format, r); err != nil {
				return err
			}
			if o.out == "" {
				return nil
			}
			files, err := outfile.WriteDir(cmd.Context(), o.out, nil, func(stage string) error {
				for _, f := range []struct{ name, format string }{{"brooker.json", "json"}, {"brooker.md", "markdown"}, {"brooker.txt", "table"}} {
					if err := writeStaged(filepath.Join(stage, f.name), func(w io.Writer) error { return report.WriteBrooker(w, f.format, r) }); err != nil {
						return err
					}
				}
				_, err := plot.Brooker(r, stage)
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "\nwrote %s: %s\n", o.out, strings.Join(files, ", "))
			return nil
		},
	}
	o.register(cmd, "brooker.json, brooker.md, brooker.txt and the two figures (SVG and PNG)", "random seed (0: 1)")
	f := cmd.Flags()
	f.StringVar(&clients, "clients", "10..190", fmt.Sprintf("client counts: `FROM..TO[/STEP]` (step 10) or a comma-separated list (1 to %d)", maxBrookerClients))
	cli.IntVar(f, &runs, "runs", 100, cli.Between(1, 1_000_000), "runs per point, averaged")
	f.StringVar(&jitters, "jitters", "none,equal,full,decorrelated", "jitter kinds to compare, a comma-separated `LIST` of none, equal, full, decorrelated")
	cli.IntVar(f, &parallel, "parallel", 0, cli.AtLeast(0), "points to compute at once (0: every core)")
	lim.registerMemory(f, "the points computed at once")
	return cmd
}
