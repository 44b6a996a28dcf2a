package simulate

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/server"
)

// Options control how runs are executed. The zero value runs on every core, quietly.
type Options struct {
	// Parallelism is how many runs execute at once; 0 means runtime.GOMAXPROCS(0). Results do
	// not depend on it.
	Parallelism int
	// Observer, if not nil, receives every event of every run (with Client set), from several
	// goroutines at once when runs execute in parallel. It slows runs down; reports do not need it.
	Observer event.Observer
	// Progress, if not nil, is called after each run with the number of runs done and the total.
	Progress func(done, total int)
	// Limits bound the work and memory of the runs (the zero value: the defaults).
	Limits Limits
}

// groupResult is one group's tallies in one run (or summed over runs): per operation, and the
// capacity of the server buckets the group touches.
type groupResult struct {
	name string
	ops  []*opResult
	cap  capTally
}

// total returns the group's counters and latencies: the sum of its operations'.
func (g *groupResult) total() (Counters, *Histogram) {
	var c Counters
	lat := &Histogram{}
	for _, op := range g.ops {
		c.add(&op.c)
		lat.Merge(&op.latency)
	}
	return c, lat
}

// runResult is what one run produced.
type runResult struct {
	groups  []*groupResult
	apis    []*opResult // per API over every group, with the capacity of its buckets
	total   capTally    // the whole workload's capacity
	series  Series
	window  time.Duration // the load window goodput is measured over
	elapsed time.Duration // until the last call finished
	skipped uint64
	// capRate is the workload's capacity per second before any S3 partition split (the
	// header's "server capacity")
	capRate float64
	err     error
}

// accum sums the runs of one strategy. Every sum is of integers (or of values equal in every
// run), so the order in which parallel runs finish does not change the result.
type accum struct {
	mu      sync.Mutex
	groups  []*groupResult
	apis    []*opResult
	total   capTally
	series  Series
	window  time.Duration
	elapsed time.Duration
	runs    int
	skipped uint64
	capRate float64
	err     error
	// alone sums the companion runs of operations asked to run alone, by operation
	alone []*opResult
}

func (a *accum) add(r *runResult) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.err != nil && a.err == nil {
		a.err = r.err
	}
	for _, g := range r.groups {
		var dst *groupResult
		for _, x := range a.groups {
			if x.name == g.name {
				dst = x
				break
			}
		}
		if dst == nil {
			dst = &groupResult{name: g.name}
			a.groups = append(a.groups, dst)
		}
		for _, op := range g.ops {
			dst.ops = mergeOp(dst.ops, op)
		}
		dst.cap.add(g.cap)
	}
	for _, op := range r.apis {
		a.apis = mergeOp(a.apis, op)
	}
	a.total.add(r.total)
	a.series.merge(r.series)
	a.elapsed += r.elapsed
	a.window += r.window
	a.runs++
	a.skipped += r.skipped
	a.capRate = r.capRate
}

// addAlone sums a companion run in which op ran alone.
func (a *accum) addAlone(r *runResult) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.err != nil && a.err == nil {
		a.err = r.err
	}
	for _, op := range r.apis {
		a.alone = mergeOp(a.alone, op)
	}
}

// report builds the strategy's report. Every run of a strategy has the same window, so the
// alone runs' window is the strategy's.
func (a *accum) report(name string) StrategyReport {
	var total Counters
	lat := &Histogram{}
	rep := StrategyReport{Strategy: name, Latency: lat, Series: seriesReport(&a.series), Groups: []GroupReport{}}
	sum := func(c *Counters, l *Histogram, t capTally) Summary {
		return summarize(c, l, a.window, a.elapsed, a.runs, t)
	}
	opReports := func(ops []*opResult, strategyLevel bool) []OperationReport {
		out := []OperationReport{}
		for _, op := range ops {
			or := OperationReport{Name: op.info.label(), Service: op.info.Service, Operation: op.info.Operation,
				Region: op.info.Region, Resource: op.info.Resource, Unfiltered: op.info.Unfiltered,
				Summary: sum(&op.c, &op.latency, op.cap)}
			if strategyLevel {
				sr := seriesReport(&op.series)
				or.Series = &sr
				or.Latency = &op.latency
			}
			if strategyLevel {
				for _, al := range a.alone {
					if al.info == op.info {
						s := sum(&al.c, &al.latency, al.cap)
						or.Alone = &s
					}
				}
			}
			out = append(out, or)
		}
		return out
	}
	for _, g := range a.groups {
		c, l := g.total()
		total.add(&c)
		lat.Merge(l)
		rep.Groups = append(rep.Groups, GroupReport{Group: g.name, Summary: sum(&c, l, g.cap), Operations: opReports(g.ops, false)})
	}
	rep.Operations = opReports(a.apis, true)
	rep.Summary = sum(&total, lat, a.total)
	return rep
}

// runParallel calls fn(i) for i in [0, n) on up to opts.Parallelism goroutines.
func runParallel(ctx context.Context, n int, opts Options, fn func(i int)) error {
	par := opts.Parallelism
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	par = min(par, n)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				fn(i)
				d := done.Add(1)
				if opts.Progress != nil {
					opts.Progress(int(d), n)
				}
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// Simulate runs scenario s under each of its strategies, s.Runs times each (with seeds derived
// from s.Seed; every strategy sees the same seeds, hence the same arrivals), in parallel, and
// returns the comparison. The result depends only on s, never on Options.Parallelism or timing.
func Simulate(ctx context.Context, s *Scenario, opts Options) (*Comparison, error) {
	c, err := compile(s)
	if err != nil {
		return nil, err
	}
	names := s.Strategies
	if len(names) == 0 {
		names = StrategyNames()
	}
	strategies := make([]Strategy, len(names))
	for i, n := range names {
		if strategies[i], err = NewStrategy(n, StrategyOptions{Rules: s.TollgateRules, MaxAttempts: s.MaxAttempts, Store: s.Store}); err != nil {
			return nil, err
		}
	}
	return simulate(ctx, c, strategies, opts)
}

// SimulateStrategies is Simulate with strategies given as values (custom strategies included),
// overriding s.Strategies.
func SimulateStrategies(ctx context.Context, s *Scenario, strategies []Strategy, opts Options) (*Comparison, error) {
	c, err := compile(s)
	if err != nil {
		return nil, err
	}
	return simulate(ctx, c, strategies, opts)
}

func simulate(ctx context.Context, c *compiled, strategies []Strategy, opts Options) (*Comparison, error) {
	s := c.sc
	runs := max(s.Runs, 1)
	alone, err := aloneScenarios(c)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("scenario %q", s.Name)
	est := estimate(c, strategies, opts)
	if err := est.check(opts.Limits, what); err != nil {
		return nil, err
	}
	g := newGuard(what, opts.Limits, est.Parallel)
	// Each strategy's runs: the scenario, then each companion run of an operation alone.
	per := runs * (1 + len(alone))
	acc := make([]accum, len(strategies))
	var capRate float64
	err = runParallel(ctx, len(strategies)*per, opts, func(i int) {
		si, k := i/per, i%per
		ri, ai := k%runs, k/runs
		seed := derive(s.Seed, 0, uint64(ri))
		if ai == 0 {
			acc[si].add(runScenario(ctx, c, strategies[si], seed, opts.Observer, g))
			return
		}
		acc[si].addAlone(runScenario(ctx, alone[ai-1], strategies[si], seed, nil, g))
	})
	if err != nil {
		return nil, err
	}
	for i := range acc {
		capRate = acc[i].capRate
	}
	cmp := &Comparison{Scenario: s.Name, Description: s.Description, Seed: s.Seed, Runs: runs,
		DurationS: s.Duration.Seconds(), CapacityPerS: round(capRate, 3)}
	for i, st := range strategies {
		if acc[i].err != nil {
			return nil, acc[i].err
		}
		r := acc[i].report(st.Name())
		r.Oracle = IsOracle(st)
		cmp.Strategies = append(cmp.Strategies, r)
	}
	return cmp, nil
}

// runScenario executes one run under the limits of g.
func runScenario(ctx context.Context, c *compiled, strat Strategy, seed uint64, obs event.Observer, gd *guard) *runResult {
	s := c.sc
	e := &engine{free: -1, strategy: strat, rules: c.rules, oracleRules: c.oracle, obs: obs, seed: seed,
		netRng: newRand(seed, streamNet, 0), window: int64(s.Duration),
		maxCall: int64(maxCallDuration(s.MaxCallDuration)), guard: gd, memLimit: gd.runMemory}
	e.setEpoch(Epoch)
	e.takeBuffers()
	defer e.releaseBuffers()
	model, err := buildModel(&s.Server, c.rules, Epoch)
	if err != nil {
		return &runResult{err: err}
	}
	e.setModel(model)
	e.series.Width = seriesWidth(s.Duration)
	for gi := range c.groups {
		cg := &c.groups[gi]
		g := groupRun{name: cg.Name, cg: cg, rng: newRand(seed, streamGroup, uint64(gi)), think: int64(cg.Think),
			ops: make([]opRun, len(cg.ops))}
		e.setHop(&g, int64(cg.hopNS), cg.hopNS, cg.hopSDNS)
		e.groups = append(e.groups, g)
		for p := 0; p < cg.Processes; p++ {
			e.newProcess(fmt.Sprintf("%s/%d", cg.Name, p), gi)
		}
	}
	for gi := range c.groups {
		cg := &c.groups[gi]
		g := &e.groups[gi]
		switch cg.Loop {
		case OpenLoop:
			if first := cg.nextArrival(cg.startNS, g.rng.ExpFloat64); first >= 0 {
				e.heap.pushLane(g.arrivalLane, first, evArrival, int32(gi))
			}
		case ClosedLoop:
			spread := max(int64(cg.Think+cg.RTT), 1)
			for p := 0; p < cg.Processes; p++ {
				for w := 0; w < cg.Workers; w++ {
					wid := int32(len(e.workers))
					e.workers = append(e.workers, int32(cg.firstProc+p))
					at := vadd(cg.startNS, time.Duration(g.rng.Int64N(spread)))
					if at < cg.stopNS {
						e.heap.push(at, evWorkerStart, wid)
					}
				}
			}
		}
	}
	e.ctx = ctx
	e.loop()
	err = e.stopErr
	if err == nil {
		err = ctx.Err()
	}
	res := &runResult{series: e.series, window: s.Duration, elapsed: time.Duration(max(e.lastDone, int64(s.Duration))),
		err: err}
	var log []server.Split
	if parts := modelPartitions(model); parts != nil {
		log = parts.SplitLog()
	}
	rc := scenarioCapacity(c, s.Duration, log, Epoch)
	res.capRate = scenarioCapacity(c, s.Duration, nil, Epoch).total.tokens / s.Duration.Seconds()
	res.total = rc.total
	apis := map[opInfo]*opResult{}
	for gi := range e.groups {
		g := &e.groups[gi]
		cg := &c.groups[gi]
		gr := &groupResult{name: g.name, cap: rc.groups[gi]}
		for oi := range g.ops {
			op := &opResult{info: cg.ops[oi], c: g.ops[oi].c, latency: g.ops[oi].latency, series: g.ops[oi].series, cap: rc.ops[gi][oi]}
			op.cap.onTime = limitedOnTime(op)
			gr.ops = append(gr.ops, op)
			gr.cap.onTime += limitedOnTime(op)
			res.total.onTime += limitedOnTime(op)
			if apis[op.info] == nil {
				apis[op.info] = &opResult{info: op.info, cap: rc.apis[op.info]}
				res.apis = append(res.apis, apis[op.info])
			}
			api := apis[op.info]
			api.c.add(&op.c)
			api.latency.Merge(&op.latency)
			api.series.merge(op.series)
			api.cap.onTime += limitedOnTime(op)
		}
		res.groups = append(res.groups, gr)
	}
	return res
}

// limitedOnTime returns op's calls that succeeded within the window if op's API has a server
// limit (0 if not: capacity leaves it out).
func limitedOnTime(op *opResult) uint64 {
	if op.cap.unlimited {
		return 0
	}
	return op.c.OnTime
}

// modelPartitions returns the S3 partition model of a server side built by buildModel.
func modelPartitions(d server.Decider) *server.Partitions {
	if cm, ok := d.(*server.CapacityModel); ok {
		d = cm.Base()
	}
	if m, ok := d.(*server.Model); ok {
		return m.Partitions()
	}
	return nil
}

// buildModel returns the server side for spec.
func buildModel(spec *ServerSpec, rules limiter.Rules, epoch time.Time) (server.Decider, error) {
	m, err := server.NewModel(server.Config{Rules: rules, Faults: spec.Faults, SplitAfter: spec.SplitAfter, SplitDelay: spec.SplitDelay})
	if err != nil {
		return nil, err
	}
	m.SetOrigin(epoch)
	if spec.Capacity == nil || len(spec.Capacity.Steps) == 0 {
		return m, nil
	}
	cm, err := server.NewCapacityModel(m, spec.Capacity)
	if err != nil {
		return nil, err
	}
	cm.SetOrigin(epoch)
	return cm, nil
}

// replayResults returns a trace replay's results per group and operation and per API, with
// the capacity of the buckets each touches over a window of w (from the prefetcher's trackers,
// complete once the stream has ended), and the whole trace's capacity.
func (e *engine) replayResults(pf *prefetcher, caps map[string]*capacityTracker, total *capacityTracker, w time.Duration) ([]*groupResult, []*opResult, capTally) {
	var groups []*groupResult
	var apis []*opResult
	all := total.tally(w)
	for gi := range e.groups {
		g := &e.groups[gi]
		gr := &groupResult{name: g.name}
		if t := caps[g.name]; t != nil {
			gr.cap = t.tally(w)
		}
		svc := pf.service(gi)
		for oi := range g.ops {
			op := &opResult{c: g.ops[oi].c, latency: g.ops[oi].latency, series: g.ops[oi].series}
			if svc != nil && oi < len(svc.opList) {
				op.info, op.cap = svc.opList[oi].info, svc.opList[oi].caps.tally(w)
			}
			op.cap.onTime = limitedOnTime(op)
			gr.cap.onTime += op.cap.onTime
			all.onTime += op.cap.onTime
			gr.ops = append(gr.ops, op)
			apis = mergeOp(apis, op)
		}
		groups = append(groups, gr)
	}
	return groups, apis, all
}
