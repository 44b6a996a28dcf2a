package simulate

import (
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/limiter"
)

// Limits bound the work and the memory of a simulation. Simulate estimates both before it
// starts (Estimate) and refuses a scenario above a limit with a *LimitError; every run also
// counts what it actually does and stops with a *LimitError if it reaches a limit anyway (the
// estimate cannot foresee, say, how long a limiter makes calls wait). Brooker checks MaxMemory
// before it starts; Replay enforces MaxMemory while it runs (its work is the trace's length).
// The zero value means the defaults; a negative value means no limit.
type Limits struct {
	// MaxWork bounds calls started plus attempts sent, over every strategy and run together
	// (default DefaultMaxWork, about ten minutes of one core).
	MaxWork int64
	// MaxMemory bounds the bytes of simulation state of the runs executing at once (default
	// DefaultMaxMemory).
	MaxMemory int64
}

// Defaults of Limits.
const (
	DefaultMaxWork   = 1_000_000_000
	DefaultMaxMemory = 1 << 30
)

func (l Limits) work() int64 {
	switch {
	case l.MaxWork < 0:
		return math.MaxInt64
	case l.MaxWork == 0:
		return DefaultMaxWork
	}
	return l.MaxWork
}

func (l Limits) memory() int64 {
	switch {
	case l.MaxMemory < 0:
		return math.MaxInt64
	case l.MaxMemory == 0:
		return DefaultMaxMemory
	}
	return l.MaxMemory
}

// LimitError reports a simulation refused (or stopped) because its work or memory would exceed
// Limits. It is a client-side refusal: nothing is wrong with the input, it asks for more than
// the limit allows; raise the limit (Options.Limits) or make the input smaller.
type LimitError struct {
	What     string // what was refused: `scenario "default"`, "replay", "brooker"
	Resource string // "work" (calls + attempts) or "memory" (bytes)
	Need     float64
	Limit    int64
	// Running is true when a run reached the limit while running (Need is then what it had
	// reached), false when the estimate exceeded it before anything ran.
	Running bool
	// Detail says what the need is made of ("3.6e+12 calls × 3 attempts").
	Detail string
}

func (e *LimitError) Error() string {
	how := "would need about"
	if e.Running {
		how = "stopped after reaching"
	}
	unit, need, limit := e.Resource, fmt.Sprintf("%.3g", e.Need), fmt.Sprintf("%.3g", float64(e.Limit))
	field := "MaxWork"
	if e.Resource == "memory" {
		unit, need, limit, field = "memory", bytesString(e.Need), bytesString(float64(e.Limit)), "MaxMemory"
	} else {
		unit = "calls + attempts"
	}
	detail := ""
	if e.Detail != "" {
		detail = " (" + e.Detail + ")"
	}
	return fmt.Sprintf("simulate: %s %s %s of %s%s, more than the limit of %s (Limits.%s): make it smaller, or raise the limit",
		e.What, how, need, unit, detail, limit, field)
}

// ClientSide reports true: the refusal is tollgate's, not the input's.
func (e *LimitError) ClientSide() bool { return true }

func bytesString(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.3g GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.3g MiB", b/(1<<20))
	}
	return fmt.Sprintf("%.3g KiB", b/(1<<10))
}

// WorkEstimate is what a simulation will take, estimated before it runs (Estimate).
type WorkEstimate struct {
	// Runs is the runs (strategies × seeds); Parallel how many execute at once.
	Runs, Parallel int
	// Calls is the calls one run starts: open-loop arrivals at the scenario's rates, closed-loop
	// workers calling back to back (a call taking at least its round trip).
	Calls float64
	// Attempts bounds the attempts of one run: Calls × the most attempts a call may make.
	Attempts float64
	// Work is (Calls + Attempts) × Runs: what Limits.MaxWork bounds.
	Work float64
	// InFlight is the most calls one run holds at once: arrivals over a call's lifetime (its
	// timeout, or its attempts and backoffs) and every closed-loop worker.
	InFlight float64
	// Processes and Workers are the client processes and closed-loop workers of one run.
	Processes, Workers int
	// RunMemory is the bytes one run's state may take at its peak; Memory is RunMemory ×
	// Parallel: what Limits.MaxMemory bounds.
	RunMemory, Memory float64
}

// Estimate estimates the work and memory of Simulate(ctx, s, opts) without running it. It
// validates s as Simulate does.
func Estimate(s *Scenario, opts Options) (WorkEstimate, error) {
	c, err := compile(s)
	if err != nil {
		return WorkEstimate{}, err
	}
	names := s.Strategies
	if len(names) == 0 {
		names = StrategyNames()
	}
	strategies := make([]Strategy, len(names))
	for i, n := range names {
		if strategies[i], err = NewStrategy(n, StrategyOptions{Rules: s.TollgateRules, MaxAttempts: s.MaxAttempts}); err != nil {
			return WorkEstimate{}, err
		}
	}
	return estimate(c, strategies, opts), nil
}

// Sizes of the engine's state, for the memory estimate and the guard.
const (
	// callBytes is a call in flight: its state, its event, and the slack of slices that double.
	callBytes = 2 * (int64(unsafe.Sizeof(callState{})) + int64(unsafe.Sizeof(simEvent{})))
	// traceCallBytes is a trace call's own request, kept per call slot.
	traceCallBytes = int64(unsafe.Sizeof(variant{}))
	// workerBytes is a closed-loop worker: its process index and its pending event.
	workerBytes = 2 * (4 + int64(unsafe.Sizeof(simEvent{})))
	// groupBytes is a group's state; opBytes an operation's tallies in a group (latency
	// histograms: the run's, its result's, and the strategy's per API).
	groupBytes = 2 * int64(unsafe.Sizeof(groupRun{}))
	opBytes    = 3 * int64(unsafe.Sizeof(opRun{}))
	// runBytes is a run's fixed state (series, lanes, model) besides the above.
	runBytes = 256 << 10
	// keyBytes is a server bucket per key (variant).
	keyBytes = 1 << 10
)

// processBytes is the memory of one client process of strategy st when the server has rules.
// The tollgate strategies' process holds a limiter (measured by TestProcessBytesCoverStrategies:
// about 55 KiB plus 1 KiB per rule) with the rules it is given: its own (the defaults, or a
// rules file) for tollgate, the server's for tollgate-oracle; the SDK strategies' hold a few
// hundred bytes; a strategy this package does not know is given the cost of a limiter with the
// server's rules.
func processBytes(st Strategy, rules limiter.Rules) int64 {
	n := int64(len(rules))
	var own limiter.Rules
	switch t := st.(type) {
	case *Tollgate:
		own = t.Rules
	case *TollgateFleet:
		own = t.Rules
	}
	switch st.(type) {
	case *Tollgate, *TollgateFleet:
		n = int64(len(own))
		if own == nil {
			n = int64(len(limiter.DefaultRules()))
		}
	}
	tollgate := 64<<10 + n*3<<9
	switch st.(type) {
	case *Tollgate, *TollgateFleet:
		return tollgate
	case *SDKStandard, *SDKAdaptive, *SDKLegacy, *PolicyStrategy:
		return 1 << 10
	}
	return tollgate
}

// estimate computes the WorkEstimate of running c under strategies.
func estimate(c *compiled, strategies []Strategy, opts Options) WorkEstimate {
	s := c.sc
	runs := max(s.Runs, 1) * len(strategies)
	par := opts.Parallelism
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	par = max(min(par, runs), 1)
	attempts := float64(max(s.MaxAttempts, 3))
	maxCall := maxCallDuration(s.MaxCallDuration)
	procs := int64(0)
	for _, st := range strategies {
		procs = max(procs, processBytes(st, c.rules))
	}
	est := WorkEstimate{Runs: runs, Parallel: par}
	variants := 0
	procMemory := 0.0 // the group's processes, each with a limiter key per variant it calls
	for gi := range c.groups {
		g := &c.groups[gi]
		variants += len(g.variants)
		est.Processes += g.Processes
		procMemory += float64(g.Processes) * float64(procs+int64(len(g.variants))*keyBytes)
		// A call lasts at most its timeout or MaxCallDuration; without waits for a limiter,
		// its attempts and backoffs take at most this long:
		life := attempts*(g.RTT.Seconds()+6*g.Jitter.Seconds()) + (attempts-1)*backoff.DefaultCap.Seconds()
		limit := maxCall
		if g.Timeout > 0 {
			limit = min(limit, g.Timeout)
		}
		life = min(life, limit.Seconds())
		window := time.Duration(g.stopNS - g.startNS).Seconds()
		switch g.Loop {
		case OpenLoop:
			calls, peak := 0.0, 0.0
			for i, ph := range g.Phases {
				from := max(ph.At, time.Duration(g.startNS))
				to := time.Duration(g.stopNS)
				if i+1 < len(g.Phases) {
					to = min(to, g.Phases[i+1].At)
				}
				if to > from {
					calls += ph.Rate * (to - from).Seconds()
					peak = max(peak, ph.Rate)
				}
			}
			est.Calls += calls
			est.InFlight += min(calls, peak*life+1)
		case ClosedLoop:
			w := g.Processes * g.Workers
			est.Workers += w
			cycle := (g.Think + g.RTT).Seconds()
			est.Calls += float64(w) * math.Ceil(window/cycle)
			est.InFlight += float64(w)
		}
	}
	est.Attempts = est.Calls * attempts
	est.Work = (est.Calls + est.Attempts) * float64(runs)
	// Operations run alone (Operation.Alone) add their companion runs' work.
	if alone, err := aloneScenarios(c); err == nil {
		for _, a := range alone {
			est.Work += estimate(a, strategies, opts).Work
		}
	}
	ops := 0
	for gi := range c.groups {
		ops += len(c.groups[gi].ops)
	}
	est.RunMemory = float64(runBytes) + float64(len(c.groups)*int(groupBytes)) + float64(ops)*float64(opBytes) + procMemory +
		float64(est.Workers)*float64(workerBytes) + est.InFlight*float64(callBytes) + float64(variants)*keyBytes
	est.Memory = est.RunMemory * float64(par)
	return est
}

// check returns a *LimitError if the estimate exceeds l.
func (est WorkEstimate) check(l Limits, what string) error {
	if est.Work > float64(l.work()) {
		return &LimitError{What: what, Resource: "work", Need: est.Work, Limit: l.work(),
			Detail: fmt.Sprintf("%.3g calls and up to %.3g attempts per run × %d runs", est.Calls, est.Attempts, est.Runs)}
	}
	if est.Memory > float64(l.memory()) {
		return &LimitError{What: what, Resource: "memory", Need: est.Memory, Limit: l.memory(),
			Detail: fmt.Sprintf("%d processes, %d workers and %.3g calls in flight per run × %d at once",
				est.Processes, est.Workers, est.InFlight, est.Parallel)}
	}
	return nil
}

// guard enforces Limits while runs execute: the work of every run together, and the memory
// of each run (its share of MaxMemory).
type guard struct {
	what      string
	limits    Limits
	work      atomic.Int64 // work reported by every run so far
	runMemory int64        // bytes one run may hold
}

func newGuard(what string, l Limits, parallel int) *guard {
	g := &guard{what: what, limits: l, runMemory: l.memory()}
	if g.runMemory != math.MaxInt64 {
		g.runMemory /= int64(max(parallel, 1))
	}
	return g
}

// addWork adds n to the work done and reports a *LimitError past the limit.
func (g *guard) addWork(n int64) error {
	if g == nil || n == 0 {
		return nil
	}
	if total := g.work.Add(n); total > g.limits.work() {
		return &LimitError{What: g.what, Resource: "work", Need: float64(total), Limit: g.limits.work(), Running: true}
	}
	return nil
}

// memoryError reports a run that holds used bytes, past its share.
func (g *guard) memoryError(used int64, detail string) error {
	return &LimitError{What: g.what, Resource: "memory", Need: float64(used), Limit: g.limits.memory(), Running: true, Detail: detail}
}
