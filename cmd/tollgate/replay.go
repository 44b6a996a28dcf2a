package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/trace"
)

func init() {
	register(&command{
		name:    "replay",
		summary: "replay a trace's requests through retry strategies in virtual time",
		run:     runReplay,
	})
}

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("replay", "replay [flags] TRACE\n\n"+
		"Replays every request of TRACE (native JSONL or CSV, an S3 access log or CloudTrail log; gzip is fine)\n"+
		"at its timestamp through each strategy, against a server whose buckets are fitted from the trace\n"+
		"(see 'tollgate fit') unless --rules is given. The trace is streamed, never loaded whole.", stdout)
	var o outputFlags
	o.register(fs)
	strategies := fs.String("strategies", "all", "comma-separated strategies to compare ("+strings.Join(simulate.StrategyNames(), ", ")+", or all)")
	rulesFile := fs.String("rules", "", "server buckets: a limiter rules file (default: fitted from the trace)")
	tollgateRules := fs.String("tollgate-rules", "", "the tollgate strategy's limiter rules (default: the server's)")
	inFormat := fs.String("input-format", trace.FormatAuto, "trace format: "+strings.Join(trace.Formats, ", "))
	rtt := fs.Duration("rtt", 20*time.Millisecond, "network round trip of each attempt")
	timeout := fs.Duration("timeout", 0, "each call's deadline after it starts (0: none)")
	parallel := fs.Int("parallel", 0, "strategies to replay at once (0: every core)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one TRACE, got %d arguments", fs.NArg())
	}
	path := fs.Arg(0)
	list, err := simulate.ParseStrategies(*strategies, simulate.StrategyOptions{})
	if err != nil {
		return usagef("--strategies: %v", strings.TrimPrefix(err.Error(), "simulate: "))
	}
	opts := simulate.ReplayOptions{
		Name: path, RTT: *rtt, Timeout: *timeout, Seed: o.seed,
		Open: func() (trace.Source, error) { return trace.Open(path, *inFormat) },
	}
	opts.Parallelism = *parallel
	if *rulesFile != "" {
		if opts.Rules, err = limiter.LoadRules(*rulesFile); err != nil {
			return err
		}
	}
	if *tollgateRules != "" {
		if opts.TollgateRules, err = limiter.LoadRules(*tollgateRules); err != nil {
			return err
		}
	}
	// Check the trace opens before starting the passes.
	f, err := trace.Open(path, *inFormat)
	if err != nil {
		return err
	}
	f.Close()
	update, finish := progress(stderr, "replaying")
	opts.Progress = update
	c, err := simulate.Replay(ctx, list, opts)
	finish()
	if err != nil {
		return fmt.Errorf("replay %s: %w", path, err)
	}
	return writeComparison(stdout, &o, c)
}
