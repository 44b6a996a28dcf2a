package calibrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/load"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/emulator"
)

// Strategies are the simulator's strategies calibrate can run for real, with the retryer of
// the real run: the SDK's standard and adaptive modes, and tollgate's one-line install.
var Strategies = []string{"sdk-standard", "sdk-adaptive", "tollgate"}

var retryers = map[string]string{
	"sdk-standard": load.RetryerStandard,
	"sdk-adaptive": load.RetryerAdaptive,
	"tollgate":     load.RetryerTollgate,
}

// Options configure Run. The zero value runs every strategy of Strategies on 3 seeds, for the
// scenario's duration, scaled to what the machine can drive.
type Options struct {
	// Strategies to calibrate (a subset of Strategies); nil means all.
	Strategies []string
	// Seeds is how many seeds each strategy runs (the scenario's seed, +1, ...); 0 means 3.
	// Each side's figures are the median over the seeds.
	Seeds int
	// Duration, if > 0, replaces the scenario's duration (how long calls are started).
	Duration time.Duration
	// Scale multiplies the scenario's open-loop rates, its server's capacities and tollgate's
	// rules: 0 chooses it from a probe of the machine (1 when the machine can drive the
	// scenario); 1 runs the scenario as written.
	Scale float64
	// Progress, if not nil, is called as the runs go.
	Progress func(Progress)
}

// Progress says where a calibration is.
type Progress struct {
	Strategy string
	Seed     uint64
	// Step is "probe", "real" (the real run, Elapsed of Duration so far) or "virtual".
	Step     string
	Run, Of  int // this run, of how many (strategies × seeds)
	Elapsed  time.Duration
	Duration time.Duration
}

// Run calibrates the simulator on sc: for each strategy and seed, it runs the scenario in real
// time with real SDK clients against an in-process emulator configured from sc, then in virtual
// time with each group's round trip as the real run measured it, and compares the two. The
// real runs are sequential: each gets the machine to itself.
func Run(ctx context.Context, sc *simulate.Scenario, opts Options) (*Report, error) {
	if sc == nil {
		return nil, errors.New("calibrate: no scenario")
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	names := opts.Strategies
	if len(names) == 0 {
		names = Strategies
	}
	for i, n := range names {
		if retryers[n] == "" {
			return nil, fmt.Errorf("calibrate: strategy %q cannot run with real clients (calibrate runs %s)", n, strings.Join(Strategies, ", "))
		}
		if slices.Contains(names[:i], n) {
			return nil, fmt.Errorf("calibrate: strategy %q given twice", n)
		}
	}
	seeds := opts.Seeds
	if seeds <= 0 {
		seeds = 3
	}
	if opts.Scale < 0 {
		return nil, fmt.Errorf("calibrate: scale must be >= 0, not %v", opts.Scale)
	}
	base := copyScenario(sc)
	if opts.Duration > 0 {
		base.Duration = opts.Duration
	}
	if err := base.Validate(); err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	rep := &Report{Scenario: sc.Name, Description: sc.Description, DurationS: base.Duration.Seconds(), Scale: 1}
	scale := opts.Scale
	if scale == 0 {
		if opts.Progress != nil {
			opts.Progress(Progress{Step: "probe"})
		}
		probe, err := probeMachine(ctx)
		if err != nil {
			return nil, err
		}
		rep.ProbeCallsPerS, rep.DemandPerS = probe, demand(base)
		scale = scaleFor(rep.ProbeCallsPerS, rep.DemandPerS)
		if scale < 1 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("this machine made %.0f calls/s in a 1 s probe; the scenario's open loops ask up to %.0f attempts/s: %s",
				rep.ProbeCallsPerS, rep.DemandPerS, scaledWhat(scale)))
		}
	}
	if scale != 1 {
		base = scaleScenario(base, scale)
		rep.Scale, rep.Scaled = scale, scaledWhat(scale)
	}
	for i := range seeds {
		rep.Seeds = append(rep.Seeds, sc.Seed+uint64(i))
	}
	rttSum := make([][]float64, len(base.Groups)) // per group, the measured round trips (ms)
	run := 0
	for _, name := range names {
		sr := StrategyResult{Strategy: name, Retryer: retryers[name]}
		var virtual, real []sides
		for _, seed := range rep.Seeds {
			run++
			s := copyScenario(base)
			s.Seed, s.Runs, s.Strategies = seed, 1, []string{name}
			pr := Progress{Strategy: name, Seed: seed, Run: run, Of: len(names) * seeds, Duration: s.Duration}
			rr, err := realRun(ctx, s, retryers[name], opts.Progress, pr)
			if err != nil {
				return nil, err
			}
			fitted := fitRTT(s, rr)
			for gi := range rr.Groups {
				if rr.Groups[gi].RTT.Count() > 0 {
					rttSum[gi] = append(rttSum[gi], rr.Groups[gi].RTTP50Ms)
				}
			}
			if opts.Progress != nil {
				pr.Step = "virtual"
				opts.Progress(pr)
			}
			obs := &quotaObserver{first: map[quotaKey]time.Duration{}}
			cmp, err := simulate.Simulate(ctx, fitted, simulate.Options{Observer: obs})
			if err != nil {
				return nil, fmt.Errorf("calibrate: %w", err)
			}
			v, r := sidesOf(&cmp.Strategies[0], obs, rr)
			virtual, real = append(virtual, v), append(real, r)
			sr.addSeries(&cmp.Strategies[0].Series, &rr.Series)
			rep.Warnings = append(rep.Warnings, drivingWarnings(name, seed, s, rr)...)
		}
		sr.Rows = rows(virtual, real)
		for _, row := range sr.Rows {
			for _, m := range row.Metrics {
				if m.Agrees != nil {
					sr.Checked++
					if *m.Agrees {
						sr.Agree++
					}
				}
			}
		}
		sr.scaleSeries(seeds)
		rep.Strategies = append(rep.Strategies, sr)
	}
	for gi, g := range base.Groups {
		rtt := g.RTT
		if rtt <= 0 {
			rtt = 20 * time.Millisecond
		}
		gr := GroupRTT{Group: g.Name, ScenarioMs: float64(rtt.Microseconds()) / 1e3, MeasuredMs: -1}
		if len(rttSum[gi]) > 0 {
			gr.MeasuredMs = median(rttSum[gi], "ms")
		}
		rep.RTT = append(rep.RTT, gr)
	}
	return rep, nil
}

// realRun runs s in real time with retryer against a fresh in-process emulator serving s's
// server side.
func realRun(ctx context.Context, s *simulate.Scenario, retryer string, progress func(Progress), pr Progress) (*load.ScenarioReport, error) {
	eopts, err := load.EmulatorOptions(s)
	if err != nil {
		return nil, err
	}
	e, err := emulator.New(eopts)
	if err != nil {
		return nil, err
	}
	if err := e.Listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := e.Start(ectx); err != nil {
		e.Close()
		return nil, err
	}
	defer e.Close()
	cfg := load.ScenarioConfig{Scenario: s, Endpoint: e.URL(), Retryer: retryer, Seed: s.RunSeed(0), OnStart: e.SetOrigin}
	if progress != nil {
		pr.Step = "real"
		progress(pr)
		cfg.Progress = func(p load.Progress) {
			pr.Elapsed = p.Elapsed
			progress(pr)
		}
	}
	rr, err := load.RunScenario(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("calibrate: real run of %s, seed %d: %w", retryer, s.Seed, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return rr, nil
}

// fitRTT returns s with each group's round trip as the real run measured it (the median of its
// answered attempts): the machine adds its own latency, which grows with the load on it, to the
// scenario's.
func fitRTT(s *simulate.Scenario, rr *load.ScenarioReport) *simulate.Scenario {
	f := copyScenario(s)
	for gi := range f.Groups {
		if gi < len(rr.Groups) && rr.Groups[gi].RTT.Count() > 0 {
			f.Groups[gi].RTT = max(rr.Groups[gi].RTT.Quantile(0.5), time.Microsecond)
		}
	}
	return f
}

// copyScenario copies s deeply enough to change its groups, phases and rules.
func copyScenario(s *simulate.Scenario) *simulate.Scenario {
	c := *s
	c.Groups = slices.Clone(s.Groups)
	for i := range c.Groups {
		c.Groups[i].Phases = slices.Clone(s.Groups[i].Phases)
	}
	c.Strategies = slices.Clone(s.Strategies)
	return &c
}

// quotaKey is where a retry quota refusal happened: a group (client name's prefix) and an API.
type quotaKey struct{ group, service, operation string }

// quotaObserver records, from the simulator's events, when a retry quota or budget first refused
// a retry: per group and API.
type quotaObserver struct {
	mu    sync.Mutex
	first map[quotaKey]time.Duration
}

func (o *quotaObserver) Observe(ev event.Event) {
	if ev.Kind != event.RetryRefused || ev.Reason != "budget" {
		return
	}
	group := ev.Client
	if i := strings.LastIndexByte(group, '/'); i >= 0 {
		group = group[:i]
	}
	k := quotaKey{group, ev.Service, ev.Operation}
	at := ev.Time.Sub(simulate.Epoch)
	o.mu.Lock()
	if t, ok := o.first[k]; !ok || at < t {
		o.first[k] = at
	}
	o.mu.Unlock()
}

// at returns the first refusal among the keys match accepts, in seconds (-1: none).
func (o *quotaObserver) at(match func(quotaKey) bool) float64 {
	best := -1.0
	for k, t := range o.first {
		if match(k) && (best < 0 || t.Seconds() < best) {
			best = t.Seconds()
		}
	}
	return best
}

// sides are the figures of one seed's runs, per row (scope → figures).
type sides map[string]figures

// Scope names of the rows.
func groupScope(g string) string         { return "group " + g }
func groupAPIScope(g, api string) string { return g + ": " + api }

// sidesOf returns the figures of both runs of a seed per row: the total, each group, each API
// over every group and each API within each group.
func sidesOf(st *simulate.StrategyReport, obs *quotaObserver, rr *load.ScenarioReport) (virtual, real sides) {
	virtual, real = sides{}, sides{}
	virtual["total"] = fromSummary(&st.Summary, obs.at(func(quotaKey) bool { return true }))
	real["total"] = fromStats(&rr.CallStats)
	for _, g := range st.Groups {
		virtual[groupScope(g.Group)] = fromSummary(&g.Summary, obs.at(func(k quotaKey) bool { return k.group == g.Group }))
		for _, op := range g.Operations {
			virtual[groupAPIScope(g.Group, op.Name)] = fromSummary(&op.Summary, obs.at(func(k quotaKey) bool {
				return k.group == g.Group && k.service == op.Service && k.operation == op.Operation
			}))
		}
	}
	for _, op := range st.Operations {
		virtual[op.Name] = fromSummary(&op.Summary, obs.at(func(k quotaKey) bool { return k.service == op.Service && k.operation == op.Operation }))
	}
	for _, g := range rr.Groups {
		real[groupScope(g.Group)] = fromStats(&g.CallStats)
		for _, op := range g.Operations {
			real[groupAPIScope(g.Group, op.Name())] = fromStats(&op.CallStats)
		}
	}
	for _, op := range rr.Operations {
		real[op.Name()] = fromStats(&op.CallStats)
	}
	return virtual, real
}

// rows compares the seeds' figures row by row, in the order: total, groups (when there are
// several), APIs over every group (when there are several), APIs within each group (when
// there are several groups).
func rows(virtual, real []sides) []Row {
	var groups, apis, groupAPIs []string
	for scope := range real[0] {
		switch {
		case scope == "total":
		case strings.HasPrefix(scope, "group "):
			groups = append(groups, scope)
		case strings.Contains(scope, ": "):
			groupAPIs = append(groupAPIs, scope)
		default:
			apis = append(apis, scope)
		}
	}
	slices.Sort(groups)
	slices.Sort(apis)
	slices.Sort(groupAPIs)
	order := []string{"total"}
	if len(groups) > 1 {
		order = append(order, groups...)
	}
	if len(apis) > 1 {
		order = append(order, apis...)
	}
	if len(groups) > 1 {
		order = append(order, groupAPIs...)
	}
	var out []Row
	for _, scope := range order {
		var vs, rs []figures
		for i := range real {
			v, okv := virtual[i][scope]
			r, okr := real[i][scope]
			if okv && okr {
				vs, rs = append(vs, v), append(rs, r)
			}
		}
		if len(rs) == 0 {
			continue
		}
		out = append(out, Row{Scope: scope, Metrics: metrics(vs, rs)})
	}
	return out
}

// drivingWarnings say where the machine could not drive a real run as the scenario asked.
func drivingWarnings(strategy string, seed uint64, s *simulate.Scenario, rr *load.ScenarioReport) []string {
	var w []string
	who := fmt.Sprintf("%s, seed %d", strategy, seed)
	if rr.Dropped > 0 {
		w = append(w, fmt.Sprintf("%s: %d of %d open-loop calls could not start (%d already in flight)", who, rr.Dropped, rr.Offered, rr.MaxInFlight))
	}
	if rr.LateP99Ms > 50 {
		w = append(w, fmt.Sprintf("%s: open-loop calls started late by up to %.0f ms (p99): the machine could not keep the scenario's pace", who, rr.LateP99Ms))
	}
	for gi, g := range rr.Groups {
		rtt := s.Groups[gi].RTT
		if rtt <= 0 {
			rtt = 20 * time.Millisecond
		}
		if g.RTT.Count() > 0 && g.RTT.Quantile(0.5) > 2*rtt {
			w = append(w, fmt.Sprintf("%s: group %s's round trips took %.1f ms (p50) against the scenario's %v: the machine is busy (the simulator runs with the measured round trip)",
				who, g.Group, g.RTTP50Ms, rtt))
		}
	}
	return w
}
