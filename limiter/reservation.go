package limiter

import (
	"sync"
	"time"
)

// Reservation is the result of [Limiter.Reserve]: a small value, not allocated. Its zero value
// means no bucket decided the call (admitted, nothing reserved).
type Reservation struct {
	l            *Limiter
	rt           *route
	rule         *crule // the calls rule, or the units rule when no calls rule covers the call
	unitsRule    *crule // the units rule, when one covers the call besides a calls rule
	refusingRule *crule
	c, u         reserved
	made         int64 // when Reserve was called, in ticks
	delay        time.Duration
	wouldWait    time.Duration
	wouldRefuse  RefusalReason
	// shared is the bucket a Store keeps, when it decided the calls part (c.n and c.at then
	// say what it reserved, c.b is nil); again: the store had no tokens for it yet, and
	// Confirm asks again (shared.go).
	shared *SharedBucket
	again  bool
	queued bool // with again: the store counts the call in its queue
}

// reserved is the tokens a Reservation holds in one bucket.
type reserved struct {
	mu    *sync.Mutex
	b     *bucket
	at    int64   // when the tokens are due, in ticks
	taken int64   // when they were taken from the bucket, in ticks
	n     float32 // tokens
}

// voided reports whether a cut of v's bucket since its tokens were taken voided them. The
// caller holds the bucket's lock.
func (v *reserved) voided() bool {
	return v.b.flags&flagCut != 0 && v.taken <= v.b.cutTicks()
}

// Delay is how long to wait before sending the call; 0 means admitted now. It is always 0 in
// FailFast and Shadow modes.
func (r Reservation) Delay() time.Duration { return r.delay }

// Rule names the calls rule covering the call (or the units rule if only one covers it;
// LearnedRule for a learned bucket); "" when none does.
func (r Reservation) Rule() string {
	if r.rule == nil {
		return ""
	}
	return r.rule.name
}

// UnitsRule names the units rule that also covered the call, or "".
func (r Reservation) UnitsRule() string {
	if r.unitsRule == nil {
		return ""
	}
	return r.unitsRule.name
}

// WouldWait is, in Shadow mode, how long Enforce mode would have made the call wait (0 when it
// would have been admitted at once).
func (r Reservation) WouldWait() time.Duration { return r.wouldWait }

// WouldRefuse reports, in Shadow mode, whether Enforce mode would have refused the call, why,
// and which rule's bucket would have refused it.
func (r Reservation) WouldRefuse() (reason RefusalReason, rule string, ok bool) {
	if r.wouldRefuse == 0 {
		return 0, "", false
	}
	return r.wouldRefuse, r.refusingRule.name, true
}

// Cancel gives the reserved tokens back, for a caller that will not send the call after all.
// Tokens whose time had come by now are not returned (they were due, as in
// rate.Reservation.CancelAt), nor tokens a rate cut voided (the bucket forgave them; see
// Confirm). Cancel empties r, so a second Cancel does nothing; do not cancel copies of one
// reservation separately.
func (r *Reservation) Cancel(now time.Time) {
	if r.l == nil {
		return
	}
	r.cancelShared(now, false)
	t := ticks(now)
	r.c.giveBack(r.rule, t, false)
	r.u.giveBack(r.unitsRule, t, false)
	r.c, r.u = reserved{}, reserved{}
}

// release gives every reserved token back, due or not: the call was not sent (its caller gave
// up at the moment it was due), so the server's bucket still has them. The bucket caps them at
// its burst. It empties r.
func (r *Reservation) release(now time.Time) {
	if r.l == nil {
		return
	}
	r.cancelShared(now, true)
	t := ticks(now)
	r.c.giveBack(r.rule, t, true)
	r.u.giveBack(r.unitsRule, t, true)
	r.c, r.u = reserved{}, reserved{}
}

// giveBack returns v's tokens to its bucket at t: always when due is set, else only if they are
// not yet due; never tokens a cut voided (the bucket forgave them). (If the bucket was evicted
// meanwhile, this changes a bucket nobody can reach: harmless.)
func (v reserved) giveBack(r *crule, t int64, due bool) {
	if v.b == nil || v.n == 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	rate, burst := v.b.rateIn(r), v.b.burstIn(r)
	t = v.b.advance(t, rate, burst)
	if (t > v.at && !due) || v.voided() {
		return
	}
	v.b.give(float64(v.n), burst)
}

// Confirm re-checks a reservation at now, when its delay has passed, just before the call is
// sent. It returns how much longer to wait (0: send now), or a *RefusedError when the call can
// no longer be admitted before deadline (zero: none) or within MaxWait of the Reserve call — in
// which case r is emptied and its tokens, if any, given back.
//
// A reservation keeps its time unless AWS throttled its key since it was made. A cut voids
// every reservation made before it: the bucket restarts empty at the new rate (the server's is
// empty too) instead of owing the queue it had promised at the old rate, and each voided
// reservation takes its tokens again when it is confirmed, as a new call would — sent at once
// if the new rate has them, else waiting or refused. So the queue is served at the new rate
// from the cut on, with no gap: calls that can no longer make their deadline are refused at
// their turn, and the others keep the pace. A caller that waits out a delay without confirming
// may exceed a rate cut meanwhile (Wait and tollgate's middleware always confirm).
func (r *Reservation) Confirm(now time.Time, deadline time.Time) (time.Duration, error) {
	d, ref := r.Recheck(now, deadline)
	if ref.Reason != 0 {
		return 0, ref.Err()
	}
	return d, nil
}

// Recheck is [Reservation.Confirm] with the refusal returned as a value (see [Refusal]): it does
// not allocate.
func (r *Reservation) Recheck(now time.Time, deadline time.Time) (time.Duration, Refusal) {
	if r.rt != nil {
		deadline = r.rt.sendBy(deadline)
	}
	if r.shared != nil {
		return r.recheckShared(now, deadline)
	}
	if r.l == nil || r.c.b == nil {
		return 0, Refusal{}
	}
	t, rt := ticks(now), r.rt
	v := &r.c
	v.mu.Lock()
	b := v.b
	if !v.voided() {
		v.mu.Unlock()
		return max(duration(v.at-t), 0), Refusal{}
	}
	rate, burst := b.rateIn(r.rule), b.burstIn(r.rule)
	tb := b.advance(t, rate, burst)
	n := float64(v.n)
	due := tb + b.reserve(n, rate)
	limit, reason := r.l.waitLimit(now, deadline)
	if mw := r.l.cfg.maxWait; mw > 0 {
		if left := max(r.made+int64(mw)-t, 0); limit < 0 || left < limit {
			limit, reason = left, RefusedMaxWait
		}
	}
	if wait := max(due-t, 0); limit >= 0 && wait > limit {
		b.give(n, burst)
		f := refusal(r.rule, duration(wait), reason, held{b: b, r: r.rule})
		v.mu.Unlock()
		r.c = reserved{}
		r.Cancel(now) // the units part, if any
		key := Key{Service: rt.service, Operation: rt.operation, Region: rt.region}
		return 0, f.value(rt, &key)
	}
	v.at, v.taken = due, tb
	v.mu.Unlock()
	return max(duration(due-t), 0), Refusal{}
}
