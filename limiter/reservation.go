package limiter

import (
	"sync"
	"time"
)

// Reservation is the result of [Limiter.Reserve]: a small value, not allocated. Its zero value
// means no rule covers the call (admitted, nothing reserved).
type Reservation struct {
	l            *Limiter
	rule         *crule // the calls rule, or the units rule when no calls rule covers the call
	unitsRule    *crule // the units rule, when one covers the call besides a calls rule
	c, u         reserved
	delay        time.Duration
	wouldWait    time.Duration
	wouldRefuse  RefusalReason
	refusingRule *crule
}

// reserved is the tokens a Reservation holds in one bucket.
type reserved struct {
	mu *sync.Mutex
	b  *bucket
	n  int
	at time.Time // when the tokens are due
}

// Delay is how long to wait before sending the call; 0 means admitted now. It is always 0 in
// FailFast and Shadow modes.
func (r Reservation) Delay() time.Duration { return r.delay }

// Rule names the calls rule covering the call (or the units rule if only one covers it); ""
// when none does.
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
// rate.Reservation.CancelAt). Cancel empties r, so a second Cancel does nothing; do not cancel
// copies of one reservation separately.
func (r *Reservation) Cancel(now time.Time) {
	if r.l == nil {
		return
	}
	r.c.cancel(r.l, now)
	r.u.cancel(r.l, now)
	r.c, r.u = reserved{}, reserved{}
}

func (v reserved) cancel(l *Limiter, now time.Time) {
	if v.b == nil || v.n == 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	// (If the bucket was evicted meanwhile, this changes a bucket nobody can reach: harmless.)
	t := v.b.at(now)
	if t.After(v.at) {
		return
	}
	v.b.give(t, v.n)
}
