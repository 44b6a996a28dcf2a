package limiter

import (
	"math"
	"time"
)

// The decisions of a bucket a Store keeps (WithStore): the limiter's API over the store's
// answers. The bucket's pinned local bucket only counts its decisions (RuleStats); a units
// bucket the call also needs stays local and is decided after the store's.

// reserveShared is Reserve for a call whose calls bucket, sc's, a Store keeps.
// It fills res, or returns the refusal.
func (l *Limiter) reserveShared(now time.Time, rt *route, key *Key, sc *scope, units int, deadline time.Time, res *Reservation) refused {
	t := ticks(now)
	limit, limitReason := l.waitLimit(now, deadline)
	if l.cfg.mode == FailFast {
		limitReason = RefusedFailFast
	}
	maxWait := time.Duration(limit)
	if l.cfg.mode != Enforce {
		maxWait = 0 // tokens only if there now
	}
	n := tokensFor(sc, units)
	d := l.cfg.store.Reserve(now, sc.shared, n, maxWait, false, false)
	r := Reservation{l: l, rt: rt, rule: sc.rule, made: t, shared: sc.shared}
	var refused RefusalReason
	switch {
	case d.OK, d.Again:
		r.c = reserved{n: float32(n), at: t + int64(max(d.Delay, 0)), taken: t}
		r.again, r.queued, r.delay = d.Again, d.Queued, max(d.Delay, 0)
	case d.Reason == RefusedMaxWait || d.Reason == 0:
		refused = limitReason
		if l.cfg.mode == Shadow && (limit < 0 || int64(d.Wait) <= limit) {
			refused, r.wouldWait = 0, d.Wait // Enforce would have waited
		}
	default:
		refused = d.Reason
	}
	if l.cfg.mode == Shadow && refused != 0 {
		r.wouldWait, r.wouldRefuse, r.refusingRule = d.Wait, refused, sc.rule
	}
	l.countShared(sc, r, refused)
	if refused != 0 && l.cfg.mode != Shadow {
		*res = Reservation{}
		return l.sharedRefusal(now, sc, d.Wait, refused)
	}
	if rt.units == nil {
		*res = r
		return noRefusal
	}
	// The units bucket is the limiter's own.
	var u Reservation
	if f := l.reserveLocal(now, rt, key, nil, units, deadline, &u); f.reason != 0 {
		r.Cancel(now)
		*res = Reservation{}
		return f
	}
	r.unitsRule, r.u = u.rule, u.c
	r.delay = max(r.delay, u.delay)
	if u.wouldRefuse != 0 && r.wouldRefuse == 0 {
		r.wouldRefuse, r.refusingRule = u.wouldRefuse, u.refusingRule
	}
	r.wouldWait = max(r.wouldWait, u.wouldWait)
	*res = r
	return noRefusal
}

// noRefusal is a decision that refused nothing.
var noRefusal refused

// countShared counts a decision of shared scope sc in its pinned bucket's counters. A call the
// store could not back yet is counted when Confirm decides it (delayed or refused).
func (l *Limiter) countShared(sc *scope, r Reservation, refused RefusalReason) {
	if r.again {
		return
	}
	p := sc.pin
	p.mu.Lock()
	switch {
	case l.cfg.mode == Shadow && r.wouldRefuse != 0:
		p.c.wouldRefuse++
	case l.cfg.mode == Shadow && r.wouldWait > 0:
		p.c.wouldWait++
	case refused != 0:
		p.c.refused++
	case r.delay > 0:
		p.c.delayed++
	default:
		p.c.admitted++
	}
	p.mu.Unlock()
}

// sharedRefusal is the refusal of a call the store refused: the rate it reports is the fleet's.
func (l *Limiter) sharedRefusal(now time.Time, sc *scope, wait time.Duration, reason RefusalReason) refused {
	if reason == RefusedExceedsBurst {
		wait = 0
	}
	st := l.cfg.store.State(now, sc.shared)
	return refused{rule: sc.rule, wait: wait, reason: reason, rate: st.Rate, learned: st.Learned}
}

// allowShared is Allow for a call whose calls bucket, sc's, a Store keeps: the tokens must be
// there now, in the store and in the local units bucket if any.
func (l *Limiter) allowShared(now time.Time, rt *route, sc *scope, key *Key, units int) (bool, string) {
	n := tokensFor(sc, units)
	d := l.cfg.store.Reserve(now, sc.shared, n, 0, false, false)
	ok := d.OK && d.Delay <= 0
	if d.Again || (d.OK && !ok) {
		// (A store asked not to wait admits with a delay, or queues, only by mistake; undo it.)
		if d.OK || d.Queued {
			l.cfg.store.Cancel(now, sc.shared, n, d.Queued)
		}
		ok = false
	}
	rule := sc.rule.name
	if ok && rt.units != nil {
		t := ticks(now)
		u := rt.units
		h := l.acquire(t, u, key, nil)
		if !h.b.allow(t, tokensFor(u, units), h.r) {
			ok, rule = false, u.rule.name
			l.cfg.store.Cancel(now, sc.shared, n, false)
		}
		count(h.c, ok)
		l.release(t, h, nil)
	}
	p := sc.pin
	p.mu.Lock()
	count(&p.c, ok)
	p.mu.Unlock()
	return ok, rule
}

// feedbackShared passes a feedback on shared scope sc to the store and reports the change of
// the fleet's rate it saw, counting it as a local bucket's change is counted.
func (l *Limiter) feedbackShared(now time.Time, sc *scope, f Feedback) RateChange {
	ch := l.cfg.store.Feedback(now, sc.shared, f)
	st := l.cfg.store.State(now, sc.shared)
	p := sc.pin
	p.mu.Lock()
	// The pinned bucket's rate mirrors the fleet's, for RuleStats.Learned and LearnedRate.
	was := p.b.rate != sc.rule.rate32
	before := float64(p.b.rate)
	if st.Rate > 0 && !math.IsInf(st.Rate, 0) {
		p.b.rate = float32(min(st.Rate, sc.rule.rate))
		if !st.Learned {
			p.b.rate = sc.rule.rate32
		}
	}
	is := p.b.rate != sc.rule.rate32
	switch {
	case was && is:
		p.c.learnedRate += float64(p.b.rate) - before
	case is:
		p.c.learned++
		p.c.learnedRate += float64(p.b.rate)
	case was:
		p.c.learned--
		p.c.learnedRate -= before
	}
	switch ch.Kind {
	case RateCut:
		p.c.cuts++
	case RateGrowth:
		p.c.growths++
	}
	p.mu.Unlock()
	if ch.Kind == RateUnchanged {
		return RateChange{}
	}
	kind := changeCut
	if ch.Kind == RateGrowth {
		kind = changeGrowth
	}
	return RateChange{Rule: sc.rule.name, From: ch.From, To: ch.To, Burst: ch.Burst, kind: kind}
}

// recheckShared is Recheck for a reservation of a shared bucket. A reservation the store
// admitted keeps its time (the store never moves one); one it could not yet back (Again) asks
// the store again now, within what is left of the deadline and MaxWait.
func (r *Reservation) recheckShared(now time.Time, deadline time.Time) (time.Duration, Refusal) {
	t := ticks(now)
	if !r.again {
		return max(duration(r.c.at-t), 0), Refusal{}
	}
	l := r.l
	limit, reason := l.waitLimit(now, deadline)
	if mw := l.cfg.maxWait; mw > 0 {
		if left := max(r.made+int64(mw)-t, 0); limit < 0 || left < limit {
			limit, reason = left, RefusedMaxWait
		}
	}
	n := float64(r.c.n)
	d := l.cfg.store.Reserve(now, r.shared, n, time.Duration(limit), true, r.queued)
	if d.OK || d.Again {
		r.again, r.queued = d.Again, d.Queued
		r.c.at, r.c.taken = t+int64(max(d.Delay, 0)), t
		if d.OK {
			r.rt.calls.pin.count(func(c *counters) { c.delayed++ })
		}
		return max(d.Delay, 0), Refusal{}
	}
	if d.Reason != RefusedMaxWait && d.Reason != 0 {
		reason = d.Reason
	}
	sc := r.rt.calls
	key := Key{Service: r.rt.service, Operation: r.rt.operation, Region: r.rt.region}
	f := l.sharedRefusal(now, sc, d.Wait, reason)
	sc.pin.count(func(c *counters) { c.refused++ })
	r.shared, r.again, r.queued, r.c = nil, false, false, reserved{} // the store let it go
	r.Cancel(now)                                                    // the units part, if any
	return 0, f.value(r.rt, &key)
}

// cancelShared gives a shared reservation's tokens back to the store, when due is set or their
// time has not come at now, or takes a queued call out of the store's queue. A reservation the
// store neither admitted nor queued holds nothing.
func (r *Reservation) cancelShared(now time.Time, due bool) {
	if r.shared == nil {
		return
	}
	switch {
	case r.again && r.queued:
		r.l.cfg.store.Cancel(now, r.shared, float64(r.c.n), true)
	case !r.again && (due || ticks(now) <= r.c.at):
		r.l.cfg.store.Cancel(now, r.shared, float64(r.c.n), false)
	}
	r.shared, r.again, r.queued, r.c = nil, false, false, reserved{}
}

// count changes p's counters under its lock.
func (p *pinnedBucket) count(f func(*counters)) {
	p.mu.Lock()
	f(&p.c)
	p.mu.Unlock()
}
