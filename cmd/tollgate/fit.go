package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate/tollgate/internal/cli"
	"github.com/tollgate/tollgate/internal/outfile"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/trace"
)

func newFitCommand() *cobra.Command {
	var (
		format, out, output, inFormat string
		streakGap, idleGap            time.Duration
		order                         orderFlags
	)
	cmd := &cobra.Command{
		Use:   "fit TRACE",
		Short: "estimate each API's server bucket from a trace and write limiter rules",
		Long: `Estimates, for each API (and S3 prefix or resource) in TRACE, the server's token bucket from its
pattern of accepted and throttled requests: the refill rate is the rate accepted while throttles
occurred, the burst the most accepted from an idle start until the first throttle, less the
refill meanwhile. Writes a limiter rules file (to --output, or rules.yaml in --out with the
estimates as fit.json, or standard output) and prints the estimates (to standard error when the
rules go to standard output).

Records a little out of time order (within --order-window and --order-buffer records) are
put in order as they are read; a record later than that stops the fit with an error naming its
file and line (sort the trace with 'tollgate import').

APIs that were never throttled get no rule. If no API was ever throttled, or no record was
usable, no rules file is written and the exit status is 3.`,
		Example: `  tollgate fit trace.jsonl --out fitted/
  tollgate fit trace.jsonl --output rules.yaml && tollgate replay trace.jsonl --rules rules.yaml
  tollgate fit access.log --input-format s3-access-log --streak-gap 5s --format markdown`,
		Args: cli.ExactArgs(1, "TRACE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out != "" && output != "" {
				return cli.Usagef("give --out or --output, not both")
			}
			path := args[0]
			g := outfile.NewGuard(path)
			if err := g.Check(output); err != nil {
				return err
			}
			if err := checkOutputs(g, out, []string{"rules.yaml", "fit.json"}); err != nil {
				return err
			}
			f, err := trace.Open(path, inFormat)
			if err != nil {
				return err
			}
			defer f.Close()
			fits, skipped, err := simulate.FitContext(cmd.Context(), f, simulate.FitOptions{StreakGap: streakGap, IdleGap: idleGap,
				OrderWindow: order.window, OrderBuffer: order.buffer})
			if err != nil {
				return err
			}
			if err := cmd.Context().Err(); err != nil {
				return err
			}
			rules := simulate.FitRules(fits, filepath.Base(path))
			report := cmd.OutOrStdout()
			if out == "" && output == "" {
				report = cmd.ErrOrStderr()
			}
			if len(fits) == 0 {
				return cli.NothingUsablef("no usable record in %s (%d skipped as unusable%s): no rules written", path, skipped, formatHint(inFormat))
			}
			if err := writeFits(report, format, fits, len(rules), skipped); err != nil {
				return err
			}
			if len(rules) == 0 {
				return cli.NothingUsablef("no API in %s was ever throttled: no bucket could be estimated, no rules written", path)
			}
			header := fmt.Sprintf("Limiter rules fitted by tollgate fit from %s.\nLoad with limiter.LoadRules, or pass to tollgate replay --rules.", filepath.Base(path))
			var rulesYAML bytes.Buffer
			if err := simulate.WriteRules(&rulesYAML, rules, header); err != nil {
				return err
			}
			switch {
			case output != "":
				return outfile.WriteFile(output, rulesYAML.Bytes())
			case out != "":
				_, err := outfile.WriteDir(cmd.Context(), out, g, func(stage string) error {
					if err := outfile.WriteFile(filepath.Join(stage, "rules.yaml"), rulesYAML.Bytes()); err != nil {
						return err
					}
					return writeStaged(filepath.Join(stage, "fit.json"), func(w io.Writer) error { return writeFitJSON(w, fits) })
				})
				return err
			}
			_, err = cmd.OutOrStdout().Write(rulesYAML.Bytes())
			return err
		},
	}
	cli.FormatVar(cmd, &format, "the estimates")
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "write rules.yaml and fit.json (the estimates) to directory `DIR`")
	_ = cmd.MarkFlagDirname("out")
	f.StringVar(&output, "output", "", "write the rules file to `FILE` (default: standard output, unless --out)")
	cli.EnumVar(cmd, &inFormat, "input-format", trace.FormatAuto, trace.Formats, "trace format")
	cli.DurationVar(f, &streakGap, "streak-gap", 2*time.Second, cli.Above(time.Duration(0)), "throttles further apart than this start a new saturated period")
	cli.DurationVar(f, &idleGap, "idle-gap", time.Second, cli.Above(time.Duration(0)), "an API idle this long starts a burst window")
	order.register(f)
	return cmd
}

func writeFitJSON(w io.Writer, fits []simulate.Fit) error {
	b, err := json.MarshalIndent(fits, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func writeFits(w io.Writer, format string, fits []simulate.Fit, rules int, skipped uint64) error {
	if format == "json" {
		return writeFitJSON(w, fits)
	}
	head := []string{"service", "operation", "region", "partition", "accepted", "throttled", "saturated", "rate/s", "burst"}
	var rows [][]string
	for _, f := range fits {
		part := f.Resource
		if f.Prefix != "" {
			part += "/" + f.Prefix
		}
		rate, burst := "-", "-"
		if f.Saturated {
			rate, burst = strconv.FormatFloat(f.Rate, 'f', 2, 64), strconv.Itoa(f.Burst)
		}
		rows = append(rows, []string{f.Service, f.Operation, f.Region, part, strconv.FormatUint(f.Accepted, 10),
			strconv.FormatUint(f.Throttled, 10), strconv.FormatFloat(f.SaturatedS, 'f', 1, 64) + "s", rate, burst})
	}
	if format == "markdown" {
		fmt.Fprintln(w, "| "+strings.Join(head, " | ")+" |")
		fmt.Fprintln(w, "|"+strings.Repeat("---|", len(head)))
		for _, r := range rows {
			fmt.Fprintln(w, "| "+strings.Join(r, " | ")+" |")
		}
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(head, "\t"))
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\n%d rule(s) written; APIs never throttled (rate -) get none.", rules)
	if skipped > 0 {
		fmt.Fprintf(w, " %d unusable trace records skipped.", skipped)
	}
	fmt.Fprintln(w)
	return nil
}
