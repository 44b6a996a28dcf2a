package main

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate/tollgate/internal/cli"
	"github.com/tollgate/tollgate/internal/outfile"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/trace"
)

func newReplayCommand() *cobra.Command {
	var (
		o             reportFlags
		strategies    string
		rulesFile     string
		tollgateRules string
		inFormat      string
		rtt, timeout  time.Duration
		parallel      int
		lim           limitFlags
		maxCall       time.Duration
		order         orderFlags
	)
	cmd := &cobra.Command{
		Use:   "replay TRACE",
		Short: "replay a trace's requests through retry strategies in virtual time",
		Long: `Replays every request of TRACE (native JSON Lines or CSV, an S3 server access log or a
CloudTrail log; gzip is fine; not standard input: the trace is read once per strategy) at its
timestamp through each strategy, against a server whose buckets are fitted from the trace (see
'tollgate fit') unless --rules is given. The trace is streamed, never loaded whole. A record's
outcome in the trace is not used: the server model decides.

Records a little out of time order (within --order-window and --order-buffer records) are
put in order as they are read; a record later than that stops the replay with an error naming
its file and line (sort the trace with 'tollgate import'). A rules file's errors name its file,
line and field. A replay whose runs would hold more than --max-memory stops with exit status 4.

A trace in which no record is usable (wrong --input-format, only malformed lines) exits with
status 3 and prints no report.`,
		Example: `  tollgate replay trace.jsonl --strategies tollgate,sdk-standard
  tollgate replay access.log.gz --input-format s3-access-log --rules rules.yaml --format json
  tollgate replay trace.jsonl --rtt 5ms --timeout 10s --out replay-report/`,
		Args: cli.ExactArgs(1, "TRACE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			if path == "-" {
				return cli.Usagef("replay reads TRACE once per strategy: give a file, not - (standard input)")
			}
			if rtt > maxCall {
				return cli.Usagef("--rtt (%v) must not exceed --max-call-duration (%v)", rtt, maxCall)
			}
			list, err := simulate.ParseStrategies(strategies, simulate.StrategyOptions{})
			if err != nil {
				return cli.Usagef("--strategies: %v", strings.TrimPrefix(err.Error(), "simulate: "))
			}
			g := outfile.NewGuard(path, rulesFile, tollgateRules)
			if err := checkOutputs(g, o.out, comparisonFiles); err != nil {
				return err
			}
			opts := simulate.ReplayOptions{
				Name: path, RTT: rtt, Timeout: timeout, Seed: o.seed,
				Open: func() (trace.Source, error) { return trace.Open(path, inFormat) },
				// Read by Replay, so that a rule that cannot work within --max-call-duration is
				// reported at its file, line and field.
				RulesFile: rulesFile, TollgateRulesFile: tollgateRules,
				MaxCallDuration: maxCall, OrderWindow: order.window, OrderBuffer: order.buffer,
			}
			opts.Parallelism = parallel
			opts.Limits = lim.limits()
			// Check the trace opens before starting the passes.
			f, err := trace.Open(path, inFormat)
			if err != nil {
				return err
			}
			f.Close()
			update, finish := progress(cmd.ErrOrStderr(), "replaying")
			opts.Progress = update
			c, err := simulate.Replay(cmd.Context(), list, opts)
			finish()
			if err != nil {
				return err
			}
			if requests(c) == 0 {
				return cli.NothingUsablef("no usable request in %s (%d records skipped as unusable%s)",
					path, c.Skipped, formatHint(inFormat))
			}
			return writeComparison(cmd.Context(), cmd.OutOrStdout(), &o, g, c)
		},
	}
	o.register(cmd, "report.json, report.md, report.txt and plots (goodput, throttles, latency CDF; SVG and PNG)",
		"seed of the strategies' random draws (0: 1)")
	f := cmd.Flags()
	f.StringVar(&strategies, "strategies", "all", "comma-separated `LIST` of strategies to compare ("+strings.Join(simulate.StrategyNames(), ", ")+", or all)")
	_ = cmd.RegisterFlagCompletionFunc("strategies", completeStrategies)
	f.StringVar(&rulesFile, "rules", "", "the server's buckets: a limiter rules `FILE`, e.g. from 'tollgate fit' (default: fitted from the trace)")
	f.StringVar(&tollgateRules, "tollgate-rules", "", "the tollgate strategy's limiter rules `FILE` (default: the server's)")
	cli.EnumVar(cmd, &inFormat, "input-format", trace.FormatAuto, trace.Formats, "trace format")
	cli.DurationVar(f, &rtt, "rtt", 20*time.Millisecond, cli.Above(time.Duration(0)), "network round trip of each attempt")
	cli.DurationVar(f, &timeout, "timeout", 0, cli.AtLeast(time.Duration(0)), "each call's deadline after it starts (0: none)")
	cli.IntVar(f, &parallel, "parallel", 0, cli.AtLeast(0), "strategies to replay at once (0: every core)")
	cli.DurationVar(f, &maxCall, "max-call-duration", simulate.DefaultMaxCallDuration, cli.Between(time.Millisecond, simulate.MaxHorizon/2),
		"longest a call may last in virtual time (a call still waiting then times out); every rule must refill a token within it")
	order.register(f)
	lim.registerMemory(f, "the strategies replaying at once")
	return cmd
}

// requests returns the most requests any strategy replayed.
func requests(c *simulate.Comparison) uint64 {
	var n uint64
	for _, s := range c.Strategies {
		n = max(n, s.Requests)
	}
	return n
}

// formatHint suggests another --input-format when one was forced.
func formatHint(format string) string {
	if format == trace.FormatAuto {
		return ""
	}
	return "; is the trace really " + format + "? --input-format auto detects it"
}
