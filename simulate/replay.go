package simulate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"time"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/trace"
)

// ReplayOptions configure Replay.
type ReplayOptions struct {
	Options
	// Open opens the trace; Replay calls it once per pass (fitting, and each strategy), so
	// the trace is streamed and never held in memory. Close is called after each pass when
	// the source implements io.Closer.
	Open func() (trace.Source, error)
	// Name names the trace in reports.
	Name string
	// Rules are the server's buckets; nil means fit them from the trace first (Fit).
	Rules limiter.Rules
	// TollgateRules are the tollgate strategy's limiter rules (a user's rules file); nil means
	// limiter.DefaultRules(), the one-line install. tollgate-oracle gets Rules.
	TollgateRules limiter.Rules
	// RTT is each attempt's network round trip (default 20 ms).
	RTT time.Duration
	// Timeout is each call's deadline after it starts (0: none).
	Timeout time.Duration
	// Seed seeds the strategies' random sources (default 1).
	Seed uint64
	// RulesFile and TollgateRulesFile, when Rules or TollgateRules are nil, name rules files
	// to read (with LoadRules) instead: errors about a rule then name its file and line.
	RulesFile, TollgateRulesFile string
	// MaxCallDuration is the longest a call may last in virtual time (0:
	// DefaultMaxCallDuration); every rule must refill a token within it (see Scenario).
	MaxCallDuration time.Duration
	// OrderWindow and OrderBuffer bound how far out of time order the trace's records may come
	// (trace.InOrder; 0: its defaults). A record later than that stops the replay with a
	// *trace.OrderError naming its file and line.
	OrderWindow time.Duration
	OrderBuffer int
}

// Replay replays a trace's requests through each strategy: every record becomes a call that
// starts at the record's time (its service, operation, Region, resource and S3 key prefix; its
// client names the client process), sent to a server whose buckets are opts.Rules or, by
// default, those fitted from the trace. Records are streamed: memory does not grow with the
// trace's length. A record's outcome in the trace is not used (the server model decides);
// every record is a request, so a trace that logged the original client's retries replays them
// as requests too.
func Replay(ctx context.Context, strategies []Strategy, opts ReplayOptions) (*Comparison, error) {
	if opts.Open == nil {
		return nil, errors.New("simulate: replay: no trace to open")
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.RTT <= 0 {
		opts.RTT = defaultRTT
	}
	maxCall := maxCallDuration(opts.MaxCallDuration)
	if opts.MaxCallDuration < 0 || maxCall > MaxHorizon/2 || opts.RTT > maxCall || opts.Timeout < 0 {
		return nil, fmt.Errorf("simulate: replay: MaxCallDuration must be in [0, %v], RTT at most MaxCallDuration and Timeout >= 0", MaxHorizon/2)
	}
	rules, tgRules := opts.Rules, opts.TollgateRules
	var rulesSrc, tgSrc *rulesFile
	var err error
	if rules == nil && opts.RulesFile != "" {
		if rulesSrc, err = loadRulesFile(opts.RulesFile); err != nil {
			return nil, err
		}
		rules = rulesSrc.rules
	}
	if tgRules == nil && opts.TollgateRulesFile != "" {
		if tgSrc, err = loadRulesFile(opts.TollgateRulesFile); err != nil {
			return nil, err
		}
		tgRules = tgSrc.rules
	}
	if rules == nil {
		src, err := opts.Open()
		if err != nil {
			return nil, err
		}
		fits, _, err := FitContext(ctx, opts.inOrder(src), FitOptions{})
		closeSource(src)
		if err != nil {
			return nil, err
		}
		rules = FitRules(fits, opts.Name)
	}
	if err := rules.Validate(); err != nil {
		return nil, fmt.Errorf("simulate: replay: rules: %w", err)
	}
	if err := checkRules(rules, rulesSrc, maxCall, "replay rules"); err != nil {
		return nil, err
	}
	if err := checkRules(tgRules, tgSrc, maxCall, "tollgate rules"); err != nil {
		return nil, err
	}
	opts.TollgateRules, opts.MaxCallDuration = tgRules, maxCall
	par := opts.Parallelism
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	gd := newGuard("replay", Limits{MaxWork: -1, MaxMemory: opts.Limits.MaxMemory}, min(par, max(len(strategies), 1)))
	results := make([]*runResult, len(strategies))
	spans := make([]time.Duration, len(strategies))
	err = runParallel(ctx, len(strategies), opts.Options, func(i int) {
		src, err := opts.Open()
		if err != nil {
			results[i] = &runResult{err: err}
			return
		}
		defer closeSource(src)
		results[i], spans[i] = runReplay(ctx, opts.inOrder(src), strategies[i], rules, &opts, gd)
	})
	if err != nil {
		return nil, err
	}
	cmp := &Comparison{Scenario: opts.Name, Description: "replay of trace " + opts.Name, Seed: opts.Seed, Runs: 1}
	for i, st := range strategies {
		r := results[i]
		if r.err != nil {
			return nil, r.err
		}
		var a accum
		a.add(r)
		rep := a.report(st.Name())
		rep.Oracle = IsOracle(st)
		cmp.Strategies = append(cmp.Strategies, rep)
		cmp.CapacityPerS = round(r.capRate, 3)
		cmp.Skipped = r.skipped
		cmp.DurationS = round(spans[i].Seconds(), 3)
	}
	return cmp, nil
}

// inOrder wraps src so that its records come in time order or stop the replay (trace.InOrder).
func (o *ReplayOptions) inOrder(src trace.Source) trace.Source {
	return trace.InOrder(src, o.OrderWindow, o.OrderBuffer)
}

func closeSource(src trace.Source) {
	if c, ok := src.(io.Closer); ok {
		c.Close()
	}
}

// runReplay replays src under one strategy. It returns the result and the trace's time span.
func runReplay(ctx context.Context, src trace.Source, strat Strategy, rules limiter.Rules, opts *ReplayOptions, gd *guard) (*runResult, time.Duration) {
	caps, total := map[string]*capacityTracker{}, newCapacityTracker(rules)
	maxCall := maxCallDuration(opts.MaxCallDuration)
	pf := newPrefetcher(src, caps, total, MaxHorizon-maxCall)
	defer pf.Close()
	e := &engine{free: -1, strategy: strat, rules: rules, obs: opts.Observer, seed: opts.Seed, ctx: ctx,
		netRng: newRand(opts.Seed, streamNet, 0), src: pf, traceRTT: int64(opts.RTT), traceTO: int64(opts.Timeout),
		window: math.MaxInt64, maxCall: int64(maxCall), guard: gd, memLimit: gd.runMemory}
	e.takeBuffers()
	defer e.releaseBuffers()
	if opts.TollgateRules != nil {
		if t, ok := strat.(*Tollgate); ok && t.Rules == nil {
			strat = &Tollgate{Rules: opts.TollgateRules, MaxAttempts: t.MaxAttempts}
			e.strategy = strat
		}
	}
	e.series.Width = time.Second
	// The first record fixes the epoch (the prefetcher's too).
	if !e.readRecord() {
		if e.readErr != nil {
			return &runResult{err: e.readErr}, 0
		}
		return &runResult{skipped: e.skipped}, 0
	}
	e.setEpoch(e.item.rec.Time.Truncate(time.Second))
	e.traceLane = e.laneFor(e.traceRTT / 2)
	e.traceArrivalLane = e.laneFor(-1)
	model, err := buildModel(&ServerSpec{Rules: rules}, rules, e.epoch)
	if err != nil {
		return &runResult{err: err}, 0
	}
	e.setModel(model)
	e.heap.pushLane(e.traceArrivalLane, e.item.at, evTraceArrival, 0)
	e.loop()
	pf.Close() // the stream has ended (or the run was cancelled): the trackers are complete
	res := &runResult{series: e.series, window: time.Duration(e.lastDone), elapsed: time.Duration(e.lastDone), skipped: e.skipped,
		capRate: total.rate, err: e.readErr}
	if res.err == nil {
		res.err = e.stopErr
	}
	if res.err == nil {
		res.err = ctx.Err()
	}
	res.groups, res.apis, res.total = e.replayResults(pf, caps, total, time.Duration(e.lastDone))
	return res, time.Duration(e.lastDone)
}
