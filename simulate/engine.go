package simulate

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fleet"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/server"
)

// minWorkerCycle is the least time between the starts of a closed-loop worker's calls.
const minWorkerCycle = time.Millisecond

// Epoch is the instant virtual time starts at in scenario runs (trace replays start at the
// trace's first record, truncated to the second).
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// callState is the engine's state for one call. Values are reused through a free list.
type callState struct {
	Call
	v         *variant // what the call sends: its server request and the server's error answers
	startNS   int64
	deadline  int64 // 0: none
	waitStart int64 // when the pending attempt began waiting for admission; -1: not waiting
	sentNS    int64
	group     int32
	proc      int32
	worker    int32 // closed-loop worker, -1 for open-loop and trace calls
	next      int32 // free-list link
	// sleep is the sleep group the call waits in (Admission.Shared), -1 for none; sleepIdx its
	// index among the group's members
	sleep, sleepIdx int32
	outcome         server.Outcome
}

// process is one client process: a strategy client with its own random source.
type process struct {
	name   string
	group  int
	client Client
	// policy is client when it is a *policyClient (sdk-standard, no-jitter, no-retry): the
	// engine calls it directly rather than through the interface, and skips its Admit, which
	// always admits.
	policy *policyClient
	rng    *rand.Rand
}

// groupRun is a group's state in one run.
type groupRun struct {
	name string
	cg   *compiledGroup // nil for trace groups
	rng  *rand.Rand     // arrivals and operation choice
	// ops are the group's counters, latencies and series per operation (count(call)); the
	// group's own are their sum (groupResult.total)
	ops   []opRun
	think int64
	// One network hop: hopNS when hopSD is 0, else |N(hopMean, hopSD)|.
	hopNS          int64
	hopMean, hopSD float64
	// The event queue's lanes for this group's hops, worker starts and open-loop arrivals
	// (-1: the heap).
	hopLane, thinkLane, arrivalLane int
}

// engine runs one scenario (or one trace replay) under one strategy with one seed. It is
// single-threaded and deterministic.
type engine struct {
	epoch time.Time
	fleet *fleet.ModelStore // the run's fleet store (TollgateFleet)
	now   int64
	// t's fast path (fastTime: epoch is a whole second in UTC): the second of virtual time
	// last converted, as Unix seconds and as nanoseconds since epoch
	fastTime     bool
	tSec, tSecNS int64
	laneDelays   []int64 // the constant delay each of the queue's lanes is for (-1: none)
	heap         eventHeap
	calls        []callState
	free         int32
	strategy     Strategy
	rules        limiter.Rules
	oracleRules  limiter.Rules // what an Oracle strategy is handed; nil: rules
	sleeps       sleepGroups
	model        server.Decider
	srv          *server.Model // model, when it is a *server.Model: called directly
	procs        []process
	groups       []groupRun
	workers      []int32 // closed-loop worker → process
	series       Series
	// the series bin of times in [binLo, binHi), the last one looked up (binHi 0: none)
	binLo, binHi int64
	binIdx       int
	netRng       *rand.Rand
	wakeRng      *rand.Rand // the order sleepers woken at the same instant race in
	obs          event.Observer
	lastDone     int64
	window       int64 // successes before this time count towards goodput
	seed         uint64
	ctx          context.Context

	// limits: every call ends within maxCall of its start; guard bounds the work of all runs
	// together (work: calls and attempts not yet reported to it) and mem, what this run holds,
	// to memLimit; stopErr is why the run stopped early
	maxCall  int64
	guard    *guard
	work     int64
	mem      int64
	memLimit int64
	stopErr  error

	// trace replay
	src              *prefetcher
	item             *traceItem // the pending record, valid until the next src.next
	traceRTT         int64
	traceTO          int64
	traceLane        int         // the lane of trace calls' hops
	traceArrivalLane int         // the lane of trace records' arrivals
	traceVars        [][]variant // per call id, in chunks that never move: trace calls' variants
	skipped          uint64
	readErr          error
}

// buffers are an engine's reusable memory: its call states and its event queue's storage.
// Runs take them from bufferPool and give them back cleared, so that runs after the first
// (Simulate runs strategies × seeds) do not allocate and copy them again as they grow.
type buffers struct {
	calls     []callState
	heap      []simEvent
	lanes     [][]simEvent
	traceVars [][]variant
}

var bufferPool = sync.Pool{New: func() any { return new(buffers) }}

// takeBuffers gives e pooled buffers; e must be new.
func (e *engine) takeBuffers() {
	b := bufferPool.Get().(*buffers)
	e.calls, e.heap.ev, e.heap.spare, e.traceVars = b.calls[:0], b.heap[:0], b.lanes, b.traceVars
}

// releaseBuffers clears e's buffers (so they keep nothing alive) and returns them to the pool.
// e must not run again.
func (e *engine) releaseBuffers() {
	calls := e.calls[:cap(e.calls)]
	clear(calls)
	for _, tv := range e.traceVars {
		clear(tv)
	}
	lanes := e.heap.spare
	for i := 0; i < e.heap.nlanes; i++ {
		lanes = append(lanes, e.heap.lanes[i].ev)
	}
	bufferPool.Put(&buffers{calls: calls[:0], heap: e.heap.ev[:0], lanes: lanes, traceVars: e.traceVars})
	e.calls, e.heap, e.traceVars = nil, eventHeap{}, nil
}

// derive returns a seed for a sub-stream, mixing seed with two indices (splitmix64 steps).
func derive(seed uint64, a, b uint64) uint64 {
	z := seed ^ (a+1)*0x9e3779b97f4a7c15 ^ (b+1)*0xbf58476d1ce4e5b9
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func newRand(seed, a, b uint64) *rand.Rand {
	return rand.New(rand.NewPCG(derive(seed, a, b), derive(seed, b, a)))
}

// Stream indices for derive.
const (
	streamNet = iota + 1
	streamGroup
	streamProc
	streamWorker
	streamWake
)

// bin returns e.series.bin(ns), remembering the last bin's span: times come in order, so most
// fall in it, without a division.
func (e *engine) bin(ns int64) int {
	if ns >= e.binLo && ns < e.binHi {
		return e.binIdx
	}
	i := e.series.bin(ns) // may coarsen the series: the span is taken after
	w := int64(e.series.Width)
	e.binIdx, e.binLo, e.binHi = i, int64(i)*w, int64(i+1)*w
	return i
}

// setModel sets the server side.
func (e *engine) setModel(m server.Decider) {
	e.model = m
	e.srv, _ = m.(*server.Model)
}

// setEpoch sets the instant virtual time 0 stands for.
func (e *engine) setEpoch(t time.Time) {
	e.epoch = t
	// For an epoch that is a whole second in UTC without a monotonic reading (Epoch, and a
	// trace's first second), epoch.Add(d) is time.Unix(epoch's second + whole seconds of d,
	// the rest).UTC(): the same value (the same wall and ext words, nil location), which t
	// builds without a division while virtual time stays within one second.
	e.fastTime = t.Location() == time.UTC && t == t.Round(0) && t.Nanosecond() == 0
	e.tSec, e.tSecNS = t.Unix(), 0
}

// t returns virtual time ns, normally the current time, as a time.Time: epoch.Add(ns).
func (e *engine) t(ns int64) time.Time {
	if d := uint64(ns - e.tSecNS); e.fastTime && d < 1e9 {
		return time.Unix(e.tSec, int64(d)).UTC()
	}
	return e.tSlow(ns)
}

// tSlow is t for another second than the last one (or an epoch without a fast path).
func (e *engine) tSlow(ns int64) time.Time {
	if !e.fastTime {
		return e.epoch.Add(time.Duration(ns))
	}
	sec := floorSec(ns)
	e.tSec += sec - e.tSecNS/1e9
	e.tSecNS = sec * 1e9
	return time.Unix(e.tSec, ns-e.tSecNS).UTC()
}

// tOther is t for a time other than the current one (a deadline): it leaves t's cached second
// alone.
func (e *engine) tOther(ns int64) time.Time {
	if !e.fastTime {
		return e.epoch.Add(time.Duration(ns))
	}
	sec := floorSec(ns)
	return time.Unix(e.tSec+sec-e.tSecNS/1e9, ns-sec*1e9).UTC()
}

// floorSec returns ⌊ns / 1e9⌋.
func floorSec(ns int64) int64 {
	sec := ns / 1e9
	if ns%1e9 < 0 {
		sec--
	}
	return sec
}

// laneFor returns the event queue's lane for events scheduled a constant delay d after the
// current time (d < 0: for one sequence of events in time order), adding one if there is room;
// -1 means the heap.
func (e *engine) laneFor(d int64) int {
	for i, x := range e.laneDelays {
		if x == d && d >= 0 {
			return i
		}
	}
	li := e.heap.addLane()
	if li >= 0 {
		e.laneDelays = append(e.laneDelays, d)
	}
	return li
}

// setHop sets group g's network hop and the lanes of its events.
func (e *engine) setHop(g *groupRun, hopNS int64, mean, sd float64) {
	g.hopNS, g.hopMean, g.hopSD = hopNS, mean, sd
	g.hopLane, g.thinkLane, g.arrivalLane = -1, -1, -1
	if sd == 0 {
		g.hopLane = e.laneFor(hopNS)
	}
	if g.cg != nil && g.cg.Loop == ClosedLoop {
		g.thinkLane = e.laneFor(g.think)
	}
	if g.cg != nil && g.cg.Loop == OpenLoop {
		g.arrivalLane = e.laneFor(-1) // a group's arrivals come in time order
	}
}

// traceVariant returns call id's own variant, for a trace call.
func (e *engine) traceVariant(id int32) *variant {
	const chunk = 1024
	for int(id)/chunk >= len(e.traceVars) {
		e.traceVars = append(e.traceVars, make([]variant, chunk))
	}
	return &e.traceVars[id/chunk][id%chunk]
}

func (e *engine) alloc() int32 {
	if e.free >= 0 {
		id := e.free
		e.free = e.calls[id].next
		return id
	}
	e.calls = append(e.calls, callState{})
	e.charge(callBytes)
	if e.src != nil {
		e.charge(traceCallBytes)
	}
	return int32(len(e.calls) - 1)
}

// charge counts n more bytes of the run's state and stops the run past its memory limit.
func (e *engine) charge(n int64) {
	e.mem += n
	if e.mem > e.memLimit && e.memLimit > 0 && e.stopErr == nil {
		e.stopErr = e.guard.memoryError(e.mem, fmt.Sprintf("%d calls in flight and %d client processes in one run", len(e.calls), len(e.procs)))
	}
}

func (e *engine) release(id int32) {
	e.calls[id].next = e.free
	e.free = id
}

// hop draws one network hop for group g.
func (e *engine) hop(g *groupRun) int64 {
	if g.hopSD == 0 {
		return g.hopNS
	}
	return e.jitteredHop(g)
}

// jitteredHop draws a hop of |N(mean, sd)| (hop stays small enough to inline), at most
// maxCall.
func (e *engine) jitteredHop(g *groupRun) int64 {
	return int64(min(math.Abs(e.netRng.NormFloat64()*g.hopSD+g.hopMean), float64(e.maxCall)))
}

func (e *engine) newProcess(name string, group int) int32 {
	idx := len(e.procs)
	rng := newRand(e.seed, streamProc, uint64(idx))
	env := ClientEnv{Name: name, Rand: rng, Created: e.t(e.now)}
	if fs, ok := e.strategy.(*TollgateFleet); ok {
		if e.fleet == nil {
			e.fleet = fs.newStore(e.epoch) // one store per run, shared by its processes
		}
		env.Fleet = e.fleet
	}
	var client Client
	if o, ok := e.strategy.(Oracle); ok {
		rules := e.oracleRules
		if rules == nil {
			rules = e.rules
		}
		client = o.NewOracleClient(env, rules)
	} else {
		client = e.strategy.NewClient(env)
	}
	pc, _ := client.(*policyClient)
	e.procs = append(e.procs, process{name: name, group: group, rng: rng, client: client, policy: pc})
	e.charge(processBytes(e.strategy, e.rules))
	return int32(idx)
}

// loop runs events until none are left, the context is done, or a limit is reached (stopErr).
func (e *engine) loop() {
	defer e.flushWork()
	for n := 0; e.heap.len() > 0 && e.stopErr == nil; n++ {
		// Every 4,096 events: a few milliseconds, tens under the race detector, so that an
		// interrupted run stops at once.
		if n&0xfff == 0 {
			if e.ctx != nil && e.ctx.Err() != nil {
				return
			}
			e.flushWork()
		}
		ev := e.heap.pop()
		e.now = ev.at
		switch ev.kind {
		case evSend:
			e.send(ev.id)
		case evArrive:
			e.arrive(ev.id)
		case evResponse:
			e.response(ev.id)
		case evArrival:
			e.arrival(int(ev.id))
		case evWorkerStart:
			e.workerStart(ev.id)
		case evTraceArrival:
			e.traceArrival()
		case evWake:
			e.wake(ev.id)
		case evSleepDeadline:
			e.sleepDeadline(ev.id)
		case evCancel:
			e.cancelInFlight(ev.id)
		}
	}
}

// flushWork reports the work done since the last report to the guard.
func (e *engine) flushWork() {
	if err := e.guard.addWork(e.work); err != nil && e.stopErr == nil {
		e.stopErr = err
	}
	e.work = 0
}

// arrival starts an open-loop group's call and schedules the next arrival.
func (e *engine) arrival(gi int) {
	g := &e.groups[gi]
	cg := g.cg
	proc := int32(cg.firstProc)
	if cg.Processes > 1 {
		proc += int32(g.rng.IntN(cg.Processes))
	}
	e.startVariant(gi, proc, -1)
	if next := cg.nextArrival(e.now, g.rng.ExpFloat64); next >= 0 {
		e.heap.pushLane(g.arrivalLane, next, evArrival, int32(gi))
	}
}

func (e *engine) workerStart(w int32) {
	proc := e.workers[w]
	e.startVariant(e.procs[proc].group, proc, w)
}

// startVariant starts a call of group gi, choosing its operation.
func (e *engine) startVariant(gi int, proc, worker int32) {
	g := &e.groups[gi]
	vs := g.cg.variants
	v := &vs[0]
	if len(vs) > 1 {
		x := g.rng.Float64()
		for i := range vs {
			if x < vs[i].cum {
				v = &vs[i]
				break
			}
		}
	}
	id := e.alloc()
	c := &e.calls[id]
	c.Key, c.Units, c.v = v.key, v.req.Units, v
	e.start(id, gi, proc, worker, g.cg.timeoutNS)
}

// start begins call id, whose Key and request are set.
func (e *engine) start(id int32, gi int, proc, worker int32, timeout int64) {
	c := &e.calls[id]
	now := e.t(e.now)
	c.Start = now
	c.Attempt = 0
	c.startNS = e.now
	// Every call ends within maxCall: that is its deadline inside the engine, unless its
	// timeout comes first; the client sees its timeout's deadline only.
	c.deadline = vadd(e.now, time.Duration(e.maxCall))
	c.Deadline = time.Time{}
	if timeout > 0 {
		c.deadline = min(c.deadline, vadd(e.now, time.Duration(timeout)))
		c.Deadline = e.tOther(c.deadline)
	}
	e.work++
	c.waitStart = -1
	c.sleep = -1
	c.group, c.proc, c.worker = int32(gi), proc, worker
	e.count(c).Requests++
	if p := &e.procs[proc]; p.policy != nil {
		p.policy.Start(now, &c.Call)
	} else {
		p.client.Start(now, &c.Call)
	}
	if e.obs != nil {
		e.emit(c, event.Event{Kind: event.CallStarted, Time: now})
	}
	e.send(id)
}

func (e *engine) emit(c *callState, ev event.Event) {
	ev.Service, ev.Operation, ev.Region = c.v.req.Service, c.v.req.Operation, c.v.req.Region
	ev.Client = e.procs[c.proc].name
	e.obs.Observe(ev)
}

// send asks the client to admit the call's next attempt and sends it.
func (e *engine) send(id int32) {
	c := &e.calls[id]
	if p := &e.procs[c.proc]; p.policy == nil && e.admit(id, p) {
		return
	}
	e.transmit(id)
}

// transmit sends call id's next attempt, admitted by its client. An attempt that would reach
// the server at or after the call's deadline never does: the caller cancels it in flight then.
func (e *engine) transmit(id int32) {
	c := &e.calls[id]
	c.Attempt++
	c.sentNS = e.now
	g := &e.groups[c.group]
	e.count(c).Attempts++
	e.work++
	at := vadd(e.now, time.Duration(e.hop(g)))
	if at >= c.deadline {
		e.heap.push(c.deadline, evCancel, id)
		return
	}
	e.heap.pushLane(g.hopLane, at, evArrive, id)
}

// admit asks p's client to admit call id's next attempt. It reports whether the attempt is not
// to be sent now: the call ended, or waits to be admitted.
func (e *engine) admit(id int32, p *process) bool {
	c := &e.calls[id]
	return e.admission(id, p, p.client.Admit(e.t(e.now), &c.Call))
}

// admission acts on p's client's answer a to call id's admission: it reports whether the
// attempt is not to be sent now (the call ended, or waits to be admitted).
func (e *engine) admission(id int32, p *process, a Admission) bool {
	c := &e.calls[id]
	now := e.t(e.now)
	switch {
	case a.Refused:
		e.count(c).LimiterRefused++
		if e.obs != nil {
			e.emit(c, event.Event{Kind: event.LimiterRefused, Time: now, Attempt: c.Attempt + 1, Reason: a.Reason, Rule: a.Rule})
		}
		e.finish(id, e.now, false, a.Reason)
		return true
	case a.Wait > 0:
		if c.waitStart < 0 {
			c.waitStart = e.now
		}
		at := vadd(e.now, a.Wait)
		if at >= c.deadline {
			// The client would sleep past the call's deadline: the call is cancelled then.
			p.client.Abandon(e.tOther(c.deadline), &c.Call)
			e.timeout(id)
			return true
		}
		if a.Shared {
			e.sleep(id, at)
			return true
		}
		e.heap.push(at, evSend, id)
		return true
	}
	if c.waitStart >= 0 {
		oc := e.count(c)
		oc.LimiterWaits++
		oc.LimiterWait += time.Duration(e.now - c.waitStart)
		if e.obs != nil {
			e.emit(c, event.Event{Kind: event.LimiterWaited, Time: now, Attempt: c.Attempt + 1,
				Duration: time.Duration(e.now - c.waitStart), Rule: a.Rule})
		}
		c.waitStart = -1
	}
	return false
}

// arrive lets the server decide the attempt, with the retry hint of its throttling answer.
// An answer that would reach the client at or after the call's deadline never does: the caller
// cancels the attempt in flight then (the server has decided it, and spent its tokens).
func (e *engine) arrive(id int32) {
	c := &e.calls[id]
	if m := e.srv; m != nil {
		c.outcome = m.Decide(e.t(e.now), c.v.req).Outcome
	} else {
		c.outcome = e.model.Decide(e.t(e.now), c.v.req).Outcome
	}
	c.Hints = backoff.Hints{}
	if h := c.v.hint; h != nil && c.outcome == server.Throttled {
		e.setHint(c, h)
	}
	g := &e.groups[c.group]
	at := vadd(e.now, time.Duration(e.hop(g)))
	if at >= c.deadline {
		e.heap.push(c.deadline, evCancel, id)
		return
	}
	e.heap.pushLane(g.hopLane, at, evResponse, id)
}

// setHint puts the server's hint h, as it writes it now, on call c's answer.
func (e *engine) setHint(c *callState, h *server.Hint) {
	v := h.Value(e.t(e.now))
	if h.Header == server.HeaderAmzRetryAfter {
		c.Hints.AmzRetryAfter = v
	} else {
		c.Hints.RetryAfter = v
	}
}

// canceled is the signal of an attempt its caller cancelled in flight (the SDK's HTTP request
// ended by the context's deadline): never retried, and not a throttle.
var canceled = backoff.Signal{Transport: backoff.Canceled}

// cancelInFlight ends call id at its deadline, which passed while its attempt was in flight:
// the client hears of the attempt as of a cancelled one (the SDK's adaptive limiter counts it
// as a completed attempt, not a throttle) and the call ends with its own give-up reason.
func (e *engine) cancelInFlight(id int32) {
	c := &e.calls[id]
	oc := e.count(c)
	b := e.bin(e.now)
	e.series.Attempts[b]++
	e.opSeries(c, b).Attempts[b]++
	c.Hints, c.Latency = backoff.Hints{}, 0
	now := e.t(e.now)
	var d Decision
	if p := &e.procs[c.proc]; p.policy != nil {
		d = p.policy.Finish(now, &c.Call, canceled)
	} else {
		d = p.client.Finish(now, &c.Call, canceled)
	}
	if e.obs != nil {
		e.emit(c, event.Event{Kind: event.AttemptFinished, Time: now, Attempt: c.Attempt, Outcome: d.Class,
			Duration: time.Duration(e.now - c.sentNS)})
	}
	oc.TimedOutInFlight++
	c.outcome = server.Accepted // no answer: finish reports the call's last class as not retryable
	e.finish(id, e.now, false, ReasonDeadlineInFlight)
}

// ReasonDeadlineInFlight is the give-up reason (in CallFinished events) of a call whose deadline
// passed while an attempt was in flight: the caller cancelled the request.
const ReasonDeadlineInFlight = "deadline_in_flight"

// response hands the attempt's answer to the client and acts on its decision.
func (e *engine) response(id int32) {
	c := &e.calls[id]
	oc := e.count(c)
	b := e.bin(e.now)
	os := e.opSeries(c, b)
	e.series.Attempts[b]++
	os.Attempts[b]++
	var sig backoff.Signal
	switch c.outcome {
	case server.Throttled:
		sig = c.v.thr
		oc.Throttled++
		e.series.Throttled[b]++
		os.Throttled[b]++
	case server.Failed:
		sig = c.v.fail
		oc.ServerErrors++
	default:
		e.series.Successes[b]++
		os.Successes[b]++
	}
	now := e.t(e.now)
	c.Latency = time.Duration(e.now - c.sentNS)
	var d Decision
	if p := &e.procs[c.proc]; p.policy != nil {
		d = p.policy.Finish(now, &c.Call, sig)
	} else {
		d = p.client.Finish(now, &c.Call, sig)
	}
	if e.obs != nil {
		e.emit(c, event.Event{Kind: event.AttemptFinished, Time: now, Attempt: c.Attempt, Outcome: d.Class,
			ErrorCode: sig.Code, Status: sig.Status, Duration: time.Duration(e.now - c.sentNS)})
		if d.Budget != "" {
			e.emit(c, event.Event{Kind: event.BudgetLevel, Time: now, Budget: d.Budget, Value: d.Level, Capacity: d.Capacity})
		}
	}
	if c.outcome == server.Accepted {
		e.finish(id, e.now, true, "")
		return
	}
	if d.Retry {
		at := vadd(e.now, d.Delay)
		if at >= c.deadline {
			e.timeout(id)
			return
		}
		if e.obs != nil {
			e.emit(c, event.Event{Kind: event.BackoffScheduled, Time: now, Attempt: c.Attempt, Outcome: d.Class, Duration: d.Delay})
		}
		e.heap.push(at, evSend, id)
		return
	}
	switch {
	case d.ClientSide:
		oc.BudgetRefused++
		if e.obs != nil {
			e.emit(c, event.Event{Kind: event.RetryRefused, Time: now, Attempt: c.Attempt, Outcome: d.Class, Duration: d.Delay, Reason: d.Stop})
		}
	case d.Stop == backoff.StopNonRetryable.String():
		oc.NonRetryable++
	default:
		oc.Exhausted++
	}
	e.finish(id, e.now, false, d.Stop)
}

// timeout ends call id at its deadline: it was waiting (to be admitted, or to retry) when its
// caller's deadline passed.
func (e *engine) timeout(id int32) {
	c := &e.calls[id]
	e.count(c).TimedOut++
	e.finish(id, c.deadline, false, "deadline")
}

// finish ends call id at virtual time at.
func (e *engine) finish(id int32, at int64, ok bool, reason string) {
	c := &e.calls[id]
	g := &e.groups[c.group]
	op := &g.ops[c.v.op]
	if ok {
		op.c.Successes++
		if at < e.window {
			op.c.OnTime++
		}
		op.latency.Add(time.Duration(at - c.startNS))
	} else {
		op.c.GiveUps++
	}
	e.lastDone = max(e.lastDone, at)
	if e.obs != nil {
		outcome := backoff.Success
		if !ok {
			// The class of the last failure; a call that never got an answer (refused or
			// timed out before its first attempt) is reported as not retryable.
			outcome = backoff.NonRetryable
			if c.Attempt > 0 {
				switch c.outcome {
				case server.Throttled:
					outcome = backoff.Throttle
				case server.Failed:
					outcome = backoff.Transient
				}
			}
		}
		e.emit(c, event.Event{Kind: event.CallFinished, Time: e.tOther(at), Attempts: c.Attempt, Outcome: outcome,
			Duration: time.Duration(at - c.startNS), Reason: reason})
	}
	if w := c.worker; w >= 0 {
		next := vadd(at, time.Duration(g.think))
		if next == c.startNS {
			// The call ended at the instant it began (refused before any attempt) and the
			// worker does not think: it calls again a millisecond later rather than at the
			// same instant, or virtual time would never move again.
			next = vadd(next, minWorkerCycle)
		}
		if g.cg != nil && next < g.cg.stopNS {
			e.heap.pushLane(g.thinkLane, next, evWorkerStart, w)
		}
	}
	e.release(id)
}

// traceArrival starts the pending trace record's call and schedules the next record.
func (e *engine) traceArrival() {
	it := e.item
	r := &it.rec
	// The prefetcher numbers groups and processes in the order the engine meets them.
	gi := it.svc.group
	if int(gi) == len(e.groups) {
		e.groups = append(e.groups, groupRun{name: r.Service, hopNS: e.traceRTT / 2, hopLane: e.traceLane, thinkLane: -1, arrivalLane: -1})
	}
	pi := it.proc
	if int(pi) == len(e.procs) {
		name := r.Client
		if name == "" {
			name = "trace"
		}
		e.newProcess(name, int(gi))
	}
	id := e.alloc()
	c := &e.calls[id]
	v := e.traceVariant(id)
	v.req = it.req
	v.thr, v.fail, v.hint = it.svc.thr, it.svc.fail, it.svc.hint
	v.op = it.op
	if g := &e.groups[gi]; int(it.op) >= len(g.ops) {
		g.ops = append(g.ops, make([]opRun, int(it.op)+1-len(g.ops))...)
	}
	q := &v.req
	c.Key = limiter.Key{Region: q.Region, Service: q.Service, Operation: q.Operation, Resource: q.Resource, Prefix: q.Prefix}
	c.Units, c.v = q.Units, v
	e.start(id, int(gi), pi, -1, e.traceTO)
	e.nextRecord()
}

// readRecord sets e.item to the next record of the trace, counting the records skipped. It
// reports false at the end of the trace or after a read error (in e.readErr).
func (e *engine) readRecord() bool {
	for {
		it, err := e.src.next()
		if err != nil {
			if err != io.EOF {
				e.readErr = err
			}
			e.item = nil
			return false
		}
		if it.err == nil {
			e.item = it
			return true
		}
		e.skipped++
	}
}

// nextRecord reads the next trace record and schedules its arrival.
func (e *engine) nextRecord() {
	if !e.readRecord() {
		return
	}
	at := e.item.at
	if at < e.now {
		at = e.now // out of order: replay it now
	}
	e.heap.pushLane(e.traceArrivalLane, at, evTraceArrival, 0)
}
