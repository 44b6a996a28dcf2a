package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/trace"
)

func init() {
	register(&command{
		name:    "fit",
		summary: "estimate each API's server bucket from a trace and write limiter rules",
		run:     runFit,
	})
}

func runFit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fit", "fit [flags] TRACE\n\n"+
		"Estimates, for each API (and S3 prefix or resource) in TRACE, the server's token bucket from its pattern of\n"+
		"accepted and throttled requests: the refill rate is the rate accepted while throttles occurred, the burst\n"+
		"the most accepted from an idle start until the first throttle, less the refill meanwhile. Writes a limiter\n"+
		"rules file (to --output, or rules.yaml in --out, or standard output) and prints the estimates.", stdout)
	format := fs.String("format", "table", "format of the estimates: table, json, markdown")
	out := fs.String("out", "", "write rules.yaml and fit.json to this directory")
	output := fs.String("output", "", "write the rules file here (default: standard output, unless --out)")
	inFormat := fs.String("input-format", trace.FormatAuto, "trace format: "+strings.Join(trace.Formats, ", "))
	streakGap := fs.Duration("streak-gap", 0, "throttles further apart than this start a new saturated period (default 2s)")
	idleGap := fs.Duration("idle-gap", 0, "an API idle this long starts a burst window (default 1s)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch *format {
	case "table", "json", "markdown":
	default:
		return usagef("--format: want table, json or markdown, not %q", *format)
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one TRACE, got %d arguments", fs.NArg())
	}
	path := fs.Arg(0)
	f, err := trace.Open(path, *inFormat)
	if err != nil {
		return err
	}
	defer f.Close()
	fits, skipped, err := simulate.FitSource(f, simulate.FitOptions{StreakGap: *streakGap, IdleGap: *idleGap})
	if err != nil {
		return err
	}
	rules := simulate.FitRules(fits, filepath.Base(path))
	header := fmt.Sprintf("Limiter rules fitted by tollgate fit from %s.\nLoad with limiter.LoadRules, or pass to tollgate replay --rules.", filepath.Base(path))

	rulesTo, report := stdout, stderr
	var closeRules func() error
	switch {
	case *output != "":
		rf, err := os.Create(*output)
		if err != nil {
			return err
		}
		rulesTo, report, closeRules = rf, stdout, rf.Close
	case *out != "":
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		rf, err := os.Create(filepath.Join(*out, "rules.yaml"))
		if err != nil {
			return err
		}
		rulesTo, report, closeRules = rf, stdout, rf.Close
		if err := writeFile(filepath.Join(*out, "fit.json"), func(w io.Writer) error { return writeFitJSON(w, fits) }); err != nil {
			return err
		}
	}
	if err := simulate.WriteRules(rulesTo, rules, header); err != nil {
		return err
	}
	if closeRules != nil {
		if err := closeRules(); err != nil {
			return err
		}
	}
	if err := writeFits(report, *format, fits, len(rules), skipped); err != nil {
		return err
	}
	if len(rules) == 0 {
		return fmt.Errorf("no API in %s was ever throttled: no bucket could be estimated", path)
	}
	return nil
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
