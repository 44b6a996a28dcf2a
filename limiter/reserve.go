package limiter

import (
	"strings"
	"time"
)

// Reserve decides a call at now under the limiter's mode and takes (or reserves) its tokens.
// units is the resource count for units rules (ignored by calls rules; <= 0 means 1); deadline
// is when the caller gives up (zero: none).
//
// Enforce: the tokens are reserved and Reservation.Delay says how long to wait before sending;
// if that wait would exceed MaxWait or pass the deadline, nothing is reserved and a
// *RefusedError is returned at once. FailFast: any needed wait is a refusal. Shadow: never
// delays nor refuses; Reservation.WouldWait and WouldRefuse report what Enforce would have
// done, and tokens are taken only if available.
//
// A caller that waits should call [Reservation.Confirm] when the delay has passed, before
// sending: a rate cut in the meantime moves the reservation back (see Confirm).
//
// A call no rule covers is admitted with a zero Reservation when the limiter is not adaptive;
// an adaptive limiter decides it on its learned bucket. Reserve does not allocate except to
// return a *RefusedError or to create a bucket for a key seen for the first time
// ([Limiter.Decide] returns refusals as values).
func (l *Limiter) Reserve(now time.Time, key Key, units int, deadline time.Time) (r Reservation, err error) {
	rt := l.route(key.Service, key.Operation, key.Region)
	deadline = rt.sendBy(deadline)
	var f refused
	if p := rt.fast; p != nil && l.cfg.mode == Enforce {
		f = l.reserveFast(now, rt, p, deadline, &r)
	} else {
		f = l.reserve(now, rt, &key, units, deadline, &r)
	}
	if f.reason != 0 {
		e := RefusedError(f.value(rt, &key))
		return Reservation{}, &e
	}
	return r, nil
}

// Decide is [Limiter.Reserve] with the refusal returned as a value: when ref.Refused(), nothing
// was reserved and ref says what Reserve's *RefusedError would (ref.Err() is that error). It
// does not allocate except to create a bucket for a key seen for the first time.
func (l *Limiter) Decide(now time.Time, key Key, units int, deadline time.Time) (r Reservation, ref Refusal) {
	rt := l.route(key.Service, key.Operation, key.Region)
	deadline = rt.sendBy(deadline)
	var f refused
	if p := rt.fast; p != nil && l.cfg.mode == Enforce {
		f = l.reserveFast(now, rt, p, deadline, &r)
	} else {
		f = l.reserve(now, rt, &key, units, deadline, &r)
	}
	if f.reason != 0 {
		return Reservation{}, f.value(rt, &key)
	}
	return r, Refusal{}
}

// reserve is Reserve and Decide for key's call on route rt, but for reserveFast's case: it fills
// r, or returns the refusal.
func (l *Limiter) reserve(now time.Time, rt *route, key *Key, units int, deadline time.Time, r *Reservation) refused {
	calls := rt.calls
	if calls != nil && calls.rule.learned && !l.learning(calls, key) {
		calls = nil
	}
	if calls != nil && calls.shared != nil {
		return l.reserveShared(now, rt, key, calls, units, deadline, r)
	}
	return l.reserveLocal(now, rt, key, calls, units, deadline, r)
}

// reserveLocal is reserve for a call whose buckets are the limiter's own: calls (nil: none)
// and rt.units (nil: none).
func (l *Limiter) reserveLocal(now time.Time, rt *route, key *Key, calls *scope, units int, deadline time.Time, r *Reservation) refused {
	if calls == nil && rt.units == nil {
		return refused{}
	}
	t := ticks(now)
	limit, limitReason := l.waitLimit(now, deadline)
	var (
		hc, hu held
		sc     = calls
	)
	switch {
	case calls != nil && rt.units != nil:
		hc, hu = l.lockBoth(t, calls, rt.units, key)
		defer l.unlockBoth(t, hc, hu)
	case calls != nil:
		hc = l.acquire(t, calls, key, nil)
		defer l.release(t, hc, nil)
	default:
		sc = rt.units
		hc = l.acquire(t, rt.units, key, nil)
		defer l.release(t, hc, nil)
	}
	*r = Reservation{l: l, rt: rt, rule: sc.rule, made: t}
	nc := tokensFor(sc, units)
	rateC, burstC := hc.b.rateIn(hc.r), hc.b.burstIn(hc.r)
	tc := hc.b.advance(t, rateC, burstC)
	var (
		nu, rateU, burstU float64
		tu                int64
	)
	if hu.b != nil {
		nu = tokensFor(rt.units, units)
		rateU, burstU = hu.b.rateIn(hu.r), hu.b.burstIn(hu.r)
		tu = hu.b.advance(t, rateU, burstU)
		r.unitsRule = rt.units.rule
	}
	if nc > burstC || (hu.b != nil && nu > burstU) {
		refusing := sc.rule
		if nc <= burstC {
			refusing = rt.units.rule
		}
		if l.cfg.mode == Shadow {
			r.wouldRefuse, r.refusingRule = RefusedExceedsBurst, refusing
			hc.c.wouldRefuse++
			if hu.b != nil {
				hu.c.wouldRefuse++
			}
			return refused{}
		}
		hc.c.refused++
		if hu.b != nil {
			hu.c.refused++
		}
		*r = Reservation{}
		return refusal(refusing, 0, RefusedExceedsBurst, hc)
	}

	if l.cfg.mode != Enforce {
		return l.decideNow(r, rt, hc, hu, nc, nu, t, tc, tu, limit, limitReason)
	}

	// Enforce: reserve, then undo if the wait is too long. The locks are held throughout, so
	// the undo restores exactly the previous state.
	dueC := tc + hc.b.reserve(nc, rateC)
	delay, refusing := max(dueC-t, 0), sc.rule
	var dueU int64
	if hu.b != nil {
		dueU = tu + hu.b.reserve(nu, rateU)
		if d := dueU - t; d > delay {
			delay, refusing = d, rt.units.rule
		}
	}
	if limit >= 0 && delay > limit {
		hc.b.give(nc, burstC)
		hc.c.refused++
		if hu.b != nil {
			hu.b.give(nu, burstU)
			hu.c.refused++
		}
		*r = Reservation{}
		return refusal(refusing, duration(delay), limitReason, hc)
	}
	r.c = reserved{mu: hc.mu, b: hc.b, n: float32(nc), at: dueC, taken: tc}
	if hu.b != nil {
		r.u = reserved{mu: hu.mu, b: hu.b, n: float32(nu), at: dueU, taken: tu}
	}
	r.delay = duration(delay)
	if delay > 0 {
		hc.c.delayed++
		if hu.b != nil {
			hu.c.delayed++
		}
	} else {
		hc.c.admitted++
		if hu.b != nil {
			hu.c.admitted++
		}
	}
	return refused{}
}

// reserveFast is reserve in Enforce mode for a call of one unpartitioned calls bucket (the
// common case: an EC2, KMS, Lambda... call), with no defer and the reservation built once.
func (l *Limiter) reserveFast(now time.Time, rt *route, p *pinnedBucket, deadline time.Time, res *Reservation) refused {
	r := rt.fastRule
	t := ticks(now)
	limit, reason := l.waitLimit(now, deadline)
	p.mu.Lock()
	b := &p.b
	rate, burst := b.rateIn(r), b.burstIn(r)
	tb := b.advance(t, rate, burst)
	due := tb + b.reserve(r.costF, rate)
	delay := max(due-t, 0)
	if limit >= 0 && delay > limit {
		b.give(r.costF, burst)
		p.c.refused++
		f := refusal(r, duration(delay), reason, held{b: b, r: r})
		p.mu.Unlock()
		return f
	}
	if delay > 0 {
		p.c.delayed++
	} else {
		p.c.admitted++
	}
	p.mu.Unlock()
	*res = Reservation{l: l, rt: rt, rule: r, made: t, delay: duration(delay),
		c: reserved{mu: &p.mu, b: b, at: due, taken: tb, n: float32(r.costF)}}
	return refused{}
}

// decideNow is Reserve in FailFast and Shadow modes: take the tokens only if all are available
// at once; otherwise say how long it would take.
func (l *Limiter) decideNow(r *Reservation, rt *route, hc, hu held, nc, nu float64, t, tc, tu, limit int64, limitReason RefusalReason) refused {
	wait, refusing := max(tc+hc.b.waitFor(nc, hc.b.rateIn(hc.r))-t, 0), r.rule
	availableNow := hc.b.tokens >= nc
	if hu.b != nil {
		if wu := max(tu+hu.b.waitFor(nu, hu.b.rateIn(hu.r))-t, 0); wu > wait {
			wait, refusing = wu, rt.units.rule
		}
		availableNow = availableNow && hu.b.tokens >= nu
	}
	if availableNow {
		hc.b.allow(t, nc, hc.r)
		hc.c.admitted++
		if hu.b != nil {
			hu.b.allow(t, nu, hu.r)
			hu.c.admitted++
		}
		return refused{}
	}
	hc.b.flags |= flagDry
	if l.cfg.mode == Shadow {
		reason := RefusalReason(0)
		if limit >= 0 && wait > limit {
			reason = limitReason
		}
		r.wouldWait, r.wouldRefuse, r.refusingRule = duration(wait), reason, refusing
		if reason != 0 {
			hc.c.wouldRefuse++
			if hu.b != nil {
				hu.c.wouldRefuse++
			}
		} else {
			hc.c.wouldWait++
			if hu.b != nil {
				hu.c.wouldWait++
			}
		}
		return refused{}
	}
	hc.c.refused++
	if hu.b != nil {
		hu.c.refused++
	}
	*r = Reservation{}
	return refusal(refusing, duration(wait), RefusedFailFast, hc)
}

// waitLimit returns the longest wait (in ticks) Reserve may hand out at now, and the reason for
// refusing a longer one; -1 means no limit.
func (l *Limiter) waitLimit(now, deadline time.Time) (int64, RefusalReason) {
	limit, reason := int64(-1), RefusalReason(0)
	if l.cfg.maxWait > 0 {
		limit, reason = int64(l.cfg.maxWait), RefusedMaxWait
	}
	if !deadline.IsZero() {
		if d := max(ticks(deadline)-ticks(now), 0); limit < 0 || d < limit {
			limit, reason = d, RefusedDeadline
		}
	}
	return limit, reason
}

// refused is a refusal as the limiter decides it, under the bucket's lock: small, so that
// deciding costs little; the Refusal (and *RefusedError) the caller gets is built from it.
type refused struct {
	rule    *crule
	wait    time.Duration
	rate    float64 // the calls bucket's rate in force, when rule is its
	reason  RefusalReason
	learned bool
}

// refusal is the refusal of a call by rule r; h is the calls bucket, whose rate in force the
// refusal reports.
func refusal(r *crule, wait time.Duration, reason RefusalReason, h held) refused {
	f := refused{rule: r, wait: wait, reason: reason}
	if h.b != nil && r == h.r {
		f.rate = h.b.rateIn(h.r)
		f.learned = h.b.rate != h.r.rate32
	}
	return f
}

// value returns f as a Refusal of key's call on route rt.
func (f refused) value(rt *route, key *Key) Refusal {
	svc, op := rt.service, rt.operation
	if rt.uncached {
		svc, op = key.Service, key.Operation
	}
	op, variant, _ := strings.Cut(op, ":")
	return Refusal{Rule: f.rule.name, Service: svc, Operation: op, Variant: variant, Wait: f.wait,
		Reason: f.reason, Rate: f.rate, Learned: f.learned}
}
