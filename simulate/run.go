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

// groupResult is one group's tallies in one run (or summed over runs).
type groupResult struct {
	name    string
	c       Counters
	latency Histogram
	// capacity of the server buckets the group touches
	capRate, capBurst float64
}

// runResult is what one run produced.
type runResult struct {
	groups            []*groupResult
	series            Series
	window            time.Duration // the load window goodput is measured over
	elapsed           time.Duration // until the last call finished
	skipped           uint64
	capRate, capBurst float64
	err               error
}

// accum sums the runs of one strategy. Every sum is of integers (or of values equal in every
// run), so the order in which parallel runs finish does not change the result.
type accum struct {
	mu      sync.Mutex
	groups  []*groupResult
	series  Series
	window  time.Duration
	elapsed time.Duration
	runs    int
	skipped uint64
	capRate float64
	capBur  float64
	err     error
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
			dst = &groupResult{name: g.name, capRate: g.capRate, capBurst: g.capBurst}
			a.groups = append(a.groups, dst)
		}
		dst.c.add(&g.c)
		dst.latency.Merge(&g.latency)
	}
	a.series.merge(r.series)
	a.elapsed += r.elapsed
	a.window += r.window
	a.runs++
	a.skipped += r.skipped
	a.capRate, a.capBur = r.capRate, r.capBurst
}

// report builds the strategy's report.
func (a *accum) report(name string) StrategyReport {
	var total Counters
	lat := &Histogram{}
	rep := StrategyReport{Strategy: name, Latency: lat, Series: seriesReport(&a.series), Groups: []GroupReport{}}
	for _, g := range a.groups {
		total.add(&g.c)
		lat.Merge(&g.latency)
		rep.Groups = append(rep.Groups, GroupReport{Group: g.name,
			Summary: summarize(&g.c, &g.latency, a.window, a.elapsed, a.runs, g.capRate, g.capBurst)})
	}
	rep.Summary = summarize(&total, lat, a.window, a.elapsed, a.runs, a.capRate, a.capBur)
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
		if strategies[i], err = NewStrategy(n, StrategyOptions{Rules: s.TollgateRules, MaxAttempts: s.MaxAttempts}); err != nil {
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
	what := fmt.Sprintf("scenario %q", s.Name)
	est := estimate(c, strategies, opts)
	if err := est.check(opts.Limits, what); err != nil {
		return nil, err
	}
	g := newGuard(what, opts.Limits, est.Parallel)
	acc := make([]accum, len(strategies))
	err := runParallel(ctx, len(strategies)*runs, opts, func(i int) {
		si, ri := i/runs, i%runs
		res := runScenario(ctx, c, strategies[si], derive(s.Seed, 0, uint64(ri)), opts.Observer, g)
		acc[si].add(res)
	})
	if err != nil {
		return nil, err
	}
	cmp := &Comparison{Scenario: s.Name, Description: s.Description, Seed: s.Seed, Runs: runs,
		DurationS: s.Duration.Seconds(), CapacityPerS: round(c.capRate, 3)}
	for i, st := range strategies {
		if acc[i].err != nil {
			return nil, acc[i].err
		}
		cmp.Strategies = append(cmp.Strategies, acc[i].report(st.Name()))
	}
	return cmp, nil
}

// runScenario executes one run under the limits of g.
func runScenario(ctx context.Context, c *compiled, strat Strategy, seed uint64, obs event.Observer, gd *guard) *runResult {
	s := c.sc
	e := &engine{free: -1, strategy: strat, rules: c.rules, obs: obs, seed: seed,
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
		g := groupRun{name: cg.Name, cg: cg, rng: newRand(seed, streamGroup, uint64(gi)), think: int64(cg.Think)}
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
		capRate: c.capRate, capBurst: c.capBurst, err: err}
	for gi := range e.groups {
		g := &e.groups[gi]
		res.groups = append(res.groups, &groupResult{name: g.name, c: g.c, latency: g.latency,
			capRate: c.groups[gi].capRate, capBurst: c.groups[gi].capBurst})
	}
	return res
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
