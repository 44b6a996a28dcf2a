package simulate

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/server"
	"github.com/tollgate/tollgate/simulate/trace"
)

// Epoch is the instant virtual time starts at in scenario runs (trace replays start at the
// trace's first record, truncated to the second).
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// callState is the engine's state for one call. Values are reused through a free list.
type callState struct {
	Call
	req       server.Request
	thr, fail backoff.Signal
	startNS   int64
	deadline  int64 // 0: none
	waitStart int64 // when the pending attempt began waiting for admission; -1: not waiting
	sentNS    int64
	group     int32
	proc      int32
	worker    int32 // closed-loop worker, -1 for open-loop and trace calls
	next      int32 // free-list link
	outcome   server.Outcome
}

// process is one client process: a strategy client with its own random source.
type process struct {
	name   string
	group  int
	client Client
	rng    *rand.Rand
}

// groupRun is a group's state in one run.
type groupRun struct {
	name    string
	cg      *compiledGroup // nil for trace groups
	rng     *rand.Rand     // arrivals and operation choice
	c       Counters
	latency Histogram
	think   int64
}

// engine runs one scenario (or one trace replay) under one strategy with one seed. It is
// single-threaded and deterministic.
type engine struct {
	epoch    time.Time
	now      int64
	heap     eventHeap
	calls    []callState
	free     int32
	strategy Strategy
	rules    limiter.Rules
	model    server.Decider
	procs    []process
	groups   []groupRun
	workers  []int32 // closed-loop worker → process
	series   Series
	netRng   *rand.Rand
	obs      event.Observer
	lastDone int64
	window   int64 // successes before this time count towards goodput
	seed     uint64
	ctx      context.Context

	// trace replay
	src         trace.Source
	rec         trace.Record
	recPending  bool
	traceRTT    int64
	traceTO     int64
	traceProcs  map[string]int32
	traceGroups map[string]int32
	skipped     uint64
	readErr     error
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
)

func (e *engine) t(ns int64) time.Time { return e.epoch.Add(time.Duration(ns)) }

func (e *engine) alloc() int32 {
	if e.free >= 0 {
		id := e.free
		e.free = e.calls[id].next
		return id
	}
	e.calls = append(e.calls, callState{})
	return int32(len(e.calls) - 1)
}

func (e *engine) release(id int32) {
	e.calls[id].next = e.free
	e.free = id
}

// hop draws one network hop for group g.
func (e *engine) hop(g *groupRun) int64 {
	if g.cg == nil {
		return e.traceRTT / 2
	}
	if g.cg.hopSDNS == 0 {
		return int64(g.cg.hopNS)
	}
	return int64(math.Abs(e.netRng.NormFloat64()*g.cg.hopSDNS + g.cg.hopNS))
}

func (e *engine) newProcess(name string, group int) int32 {
	idx := len(e.procs)
	rng := newRand(e.seed, streamProc, uint64(idx))
	e.procs = append(e.procs, process{name: name, group: group, rng: rng,
		client: e.strategy.NewClient(ClientEnv{Name: name, Rules: e.rules, Rand: rng})})
	return int32(idx)
}

// loop runs events until none are left.
func (e *engine) loop() {
	for n := 0; e.heap.len() > 0; n++ {
		if n&0xffff == 0 && e.ctx != nil && e.ctx.Err() != nil {
			return
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
		}
	}
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
		e.heap.push(next, evArrival, int32(gi))
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
	c.Key, c.Units = v.key, v.req.Units
	c.req, c.thr, c.fail = v.req, v.thr, v.fail
	e.start(id, gi, proc, worker, g.cg.timeoutNS)
}

// start begins call id, whose Key and request are set.
func (e *engine) start(id int32, gi int, proc, worker int32, timeout int64) {
	c := &e.calls[id]
	now := e.t(e.now)
	c.Start = now
	c.Attempt = 0
	c.startNS = e.now
	c.deadline = 0
	c.Deadline = time.Time{}
	if timeout > 0 {
		c.deadline = e.now + timeout
		c.Deadline = e.t(c.deadline)
	}
	c.waitStart = -1
	c.group, c.proc, c.worker = int32(gi), proc, worker
	e.groups[gi].c.Requests++
	p := &e.procs[proc]
	p.client.Start(now, &c.Call)
	if e.obs != nil {
		e.emit(c, event.Event{Kind: event.CallStarted, Time: now})
	}
	e.send(id)
}

func (e *engine) emit(c *callState, ev event.Event) {
	ev.Service, ev.Operation, ev.Region = c.req.Service, c.req.Operation, c.req.Region
	ev.Client = e.procs[c.proc].name
	e.obs.Observe(ev)
}

// send asks the client to admit the call's next attempt and sends it.
func (e *engine) send(id int32) {
	c := &e.calls[id]
	p := &e.procs[c.proc]
	now := e.t(e.now)
	a := p.client.Admit(now, &c.Call)
	switch {
	case a.Refused:
		g := &e.groups[c.group]
		g.c.LimiterRefused++
		if e.obs != nil {
			e.emit(c, event.Event{Kind: event.LimiterRefused, Time: now, Attempt: c.Attempt + 1, Reason: a.Reason, Rule: a.Rule})
		}
		e.finish(id, e.now, false, a.Reason)
		return
	case a.Wait > 0:
		if c.waitStart < 0 {
			c.waitStart = e.now
		}
		at := e.now + int64(a.Wait)
		if c.deadline > 0 && at >= c.deadline {
			// The client would sleep past the call's deadline: the call is cancelled then.
			p.client.Abandon(e.t(c.deadline), &c.Call)
			e.timeout(id)
			return
		}
		e.heap.push(at, evSend, id)
		return
	}
	if c.waitStart >= 0 {
		g := &e.groups[c.group]
		g.c.LimiterWaits++
		g.c.LimiterWait += time.Duration(e.now - c.waitStart)
		if e.obs != nil {
			e.emit(c, event.Event{Kind: event.LimiterWaited, Time: now, Attempt: c.Attempt + 1,
				Duration: time.Duration(e.now - c.waitStart), Rule: a.Rule})
		}
		c.waitStart = -1
	}
	c.Attempt++
	c.sentNS = e.now
	e.groups[c.group].c.Attempts++
	e.heap.push(e.now+e.hop(&e.groups[c.group]), evArrive, id)
}

// arrive lets the server decide the attempt.
func (e *engine) arrive(id int32) {
	c := &e.calls[id]
	c.outcome = e.model.Decide(e.t(e.now), c.req).Outcome
	e.heap.push(e.now+e.hop(&e.groups[c.group]), evResponse, id)
}

// response hands the attempt's answer to the client and acts on its decision.
func (e *engine) response(id int32) {
	c := &e.calls[id]
	g := &e.groups[c.group]
	b := e.series.bin(e.now)
	e.series.Attempts[b]++
	var sig backoff.Signal
	switch c.outcome {
	case server.Throttled:
		sig = c.thr
		g.c.Throttled++
		e.series.Throttled[b]++
	case server.Failed:
		sig = c.fail
		g.c.ServerErrors++
	default:
		e.series.Successes[b]++
	}
	now := e.t(e.now)
	p := &e.procs[c.proc]
	d := p.client.Finish(now, &c.Call, sig)
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
		at := e.now + int64(d.Delay)
		if c.deadline > 0 && at >= c.deadline {
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
		g.c.BudgetRefused++
		if e.obs != nil {
			e.emit(c, event.Event{Kind: event.RetryRefused, Time: now, Attempt: c.Attempt, Outcome: d.Class, Duration: d.Delay, Reason: d.Stop})
		}
	case d.Stop == backoff.StopNonRetryable.String():
		g.c.NonRetryable++
	default:
		g.c.Exhausted++
	}
	e.finish(id, e.now, false, d.Stop)
}

// timeout ends call id at its deadline: it was waiting (to be admitted, or to retry) when its
// caller's deadline passed.
func (e *engine) timeout(id int32) {
	c := &e.calls[id]
	e.groups[c.group].c.TimedOut++
	e.finish(id, c.deadline, false, "deadline")
}

// finish ends call id at virtual time at.
func (e *engine) finish(id int32, at int64, ok bool, reason string) {
	c := &e.calls[id]
	g := &e.groups[c.group]
	if ok {
		g.c.Successes++
		if at < e.window {
			g.c.OnTime++
		}
		g.latency.Add(time.Duration(at - c.startNS))
	} else {
		g.c.GiveUps++
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
		e.emit(c, event.Event{Kind: event.CallFinished, Time: e.t(at), Attempts: c.Attempt, Outcome: outcome,
			Duration: time.Duration(at - c.startNS), Reason: reason})
	}
	if w := c.worker; w >= 0 {
		next := at + g.think
		if g.cg != nil && next < g.cg.stopNS {
			e.heap.push(next, evWorkerStart, w)
		}
	}
	e.release(id)
}

// traceArrival starts the pending trace record's call and schedules the next record.
func (e *engine) traceArrival() {
	r := &e.rec
	gi, ok := e.traceGroups[r.Service]
	if !ok {
		gi = int32(len(e.groups))
		e.groups = append(e.groups, groupRun{name: r.Service})
		e.traceGroups[r.Service] = gi
	}
	pi, ok := e.traceProcs[r.Client]
	if !ok {
		name := r.Client
		if name == "" {
			name = "trace"
		}
		pi = e.newProcess(name, int(gi))
		e.traceProcs[r.Client] = pi
	}
	id := e.alloc()
	c := &e.calls[id]
	prefix := server.PrefixOf(r.Key)
	c.req = server.Request{Region: r.Region, Service: r.Service, Operation: r.Operation, Resource: r.Resource,
		Prefix: prefix, Units: r.Units}
	c.Key = limiter.Key{Region: r.Region, Service: r.Service, Operation: r.Operation, Resource: r.Resource, Prefix: prefix}
	c.Units = r.Units
	c.thr, c.fail = serviceErrors(r.Service)
	e.start(id, int(gi), pi, -1, e.traceTO)
	e.nextRecord()
}

// nextRecord reads the next trace record and schedules its arrival.
func (e *engine) nextRecord() {
	for {
		err := e.src.Read(&e.rec)
		if err == nil {
			break
		}
		var ie *trace.InputError
		if errors.As(err, &ie) {
			e.skipped++
			continue
		}
		if err != io.EOF {
			e.readErr = err
		}
		return
	}
	at := int64(e.rec.Time.Sub(e.epoch))
	if at < e.now {
		at = e.now // out of order: replay it now
	}
	e.heap.push(at, evTraceArrival, 0)
}
