package limiter

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/tollgate/tollgate/internal/vtime"
)

// Limiter keeps one token bucket per (rule, region, operation or group[, resource[, prefix]]),
// shaped by its rules. It never reads the clock except in Wait: every decision takes now, so a
// simulator can drive it in virtual time. It is safe for concurrent use.
type Limiter struct {
	rules  Rules
	crules []*crule
	cfg    config

	ident          [1 << identBits]atomic.Pointer[route]
	routesMu       sync.RWMutex
	routes         map[routeKey]*route
	scopes         map[scopeKey]*scope
	overflowRoutes map[[2]int]*route

	dualMu      sync.Mutex    // serialises calls that need two buckets (see lockBoth)
	live        atomic.Int64  // partitioned buckets
	pinned      atomic.Int64  // unpartitioned buckets in use
	sweepCursor atomic.Uint32 // next foreign shard to sweep when MaxKeys is reached
	shards      [numShards]shard
}

// New returns a limiter for rules. Rules from LoadRules, ParseRules and DefaultRules are valid;
// rules built in code must pass [Rules.Validate], and New panics with that error if they do
// not (as regexp.MustCompile does: it is a programming error, not bad input).
func New(rules Rules, opts ...Option) *Limiter {
	if err := rules.Validate(); err != nil {
		panic(err)
	}
	l := &Limiter{
		rules:          append(Rules(nil), rules...),
		cfg:            config{mode: Enforce, idleTTL: DefaultIdleTTL},
		routes:         map[routeKey]*route{},
		scopes:         map[scopeKey]*scope{},
		overflowRoutes: map[[2]int]*route{},
	}
	for _, o := range opts {
		o(&l.cfg)
	}
	for i, r := range l.rules {
		cr := &crule{Rule: r, index: i, name: r.DisplayName(), cost: r.cost(), limit: rate.Limit(r.Rate)}
		cr.overflow = newPinnedBucket(cr)
		cr.overflow.overflow = true
		l.crules = append(l.crules, cr)
	}
	for i := range l.shards {
		l.shards[i].counts = make([]counters, len(l.rules))
	}
	return l
}

// Mode returns the limiter's mode.
func (l *Limiter) Mode() Mode { return l.cfg.mode }

// Rules returns a copy of the limiter's rules.
func (l *Limiter) Rules() Rules { return append(Rules(nil), l.rules...) }

// Match returns the first rule charged by calls that covers the call (see [Rules.Match]).
func (l *Limiter) Match(service, operation, region string) (Rule, bool) {
	return l.rules.Match(service, operation, region)
}

// tokensFor returns the tokens a call takes from scope sc's bucket.
func tokensFor(sc *scope, units int) int {
	if sc.rule.Charge == ChargeCalls {
		return sc.rule.cost
	}
	if units <= 0 {
		units = 1
	}
	if units > maxInt/sc.rule.cost {
		return maxInt
	}
	return units * sc.rule.cost
}

const maxInt = int(^uint(0) >> 1)

// held is a bucket whose guarding mutex the caller holds, with the counters that go with it.
type held struct {
	mu *sync.Mutex
	b  *bucket
	c  *counters
	sh *shard // the shard, for partitioned buckets (swept before unlocking)
}

// acquire locks and returns the bucket of scope sc for key, creating it full at now if needed.
// A partitioned key that finds no room (MaxKeys) gets the rule's overflow bucket instead. If
// other is non-nil and guards the same lock, the lock is already held and not taken again.
func (l *Limiter) acquire(now time.Time, sc *scope, key *Key, other *sync.Mutex) held {
	if p := sc.pin; p != nil {
		if &p.mu != other {
			p.mu.Lock()
		}
		if p.overflow {
			p.c.overflowed++
			p.used.Store(true)
		}
		return held{mu: &p.mu, b: &p.b, c: &p.c}
	}
	resource, prefix := key.Resource, ""
	if sc.rule.Partition == PartitionPrefix {
		prefix = key.Prefix
	}
	h := hashString(hashString(sc.seed, resource), prefix)
	s := &l.shards[h>>(64-shardBits)]
	if &s.mu != other {
		s.mu.Lock()
	}
	c := &s.counts[sc.rule.index]
	if b := s.find(h, sc, resource, prefix); b != nil {
		return held{mu: &s.mu, b: &b.bucket, c: c, sh: s}
	}
	if !l.reserveKey(now, s) {
		if &s.mu != other {
			s.mu.Unlock()
		}
		p := sc.rule.overflow
		if &p.mu != other {
			p.mu.Lock()
		}
		p.c.overflowed++
		p.used.Store(true)
		return held{mu: &p.mu, b: &p.b, c: &p.c}
	}
	b := &pbucket{hash: h, sc: sc}
	b.setKey(resource, prefix)
	b.init(sc.rule.limit, sc.rule.Burst)
	b.last = now
	if ov := sc.rule.overflow; ov.used.Load() {
		startFromOverflow(&b.bucket, ov, now, sc.rule.Burst, other)
	}
	s.insert(b)
	c.keys++
	return held{mu: &s.mu, b: &b.bucket, c: c, sh: s}
}

// startFromOverflow lowers a new bucket to the level of its rule's overflow bucket. A key may
// have been charged to the overflow bucket while MaxKeys was reached; starting its own bucket no
// fuller than the overflow one means the move cannot hand it more than the quota. If the overflow
// bucket is busy (its lock is not free at once), the new bucket starts empty: waiting for the
// lock while holding a shard's could deadlock, and empty is the safe side.
func startFromOverflow(b *bucket, ov *pinnedBucket, now time.Time, burst int, held *sync.Mutex) {
	level := 0.0
	switch {
	case &ov.mu == held:
		level = ov.b.lim.TokensAt(ov.b.peekAt(now))
	case ov.mu.TryLock():
		level = ov.b.lim.TokensAt(ov.b.peekAt(now))
		ov.mu.Unlock()
	}
	for n := int(math.Ceil(float64(burst) - level)); n > 0; n -= burst {
		b.lim.ReserveN(now, min(n, burst))
	}
}

// reserveKey makes room for one more partitioned bucket in shard s (whose lock is held),
// evicting idle buckets if MaxKeys is reached. It reports false when there is no room.
func (l *Limiter) reserveKey(now time.Time, s *shard) bool {
	max := int64(l.cfg.maxKeys)
	if max <= 0 {
		l.live.Add(1)
		return true
	}
	if l.live.Load() >= max {
		if s.sweep(l, now, sweepOnFull) == 0 {
			// Try a few other shards without waiting for their locks (waiting could deadlock).
			for k := 0; k < 4 && l.live.Load() >= max; k++ {
				o := &l.shards[l.sweepCursor.Add(1)%numShards]
				if o != s && o.mu.TryLock() {
					o.sweep(l, now, sweepOnFull)
					o.mu.Unlock()
				}
			}
		}
	}
	if l.live.Add(1) > max {
		l.live.Add(-1)
		return false
	}
	return true
}

// release sweeps a few slots of the bucket's shard (amortised eviction) and unlocks. If other
// guards the same lock, the lock is left for the other's release.
func (l *Limiter) release(now time.Time, h held, other *sync.Mutex) {
	if h.mu == other {
		return
	}
	if h.sh != nil {
		h.sh.sweep(l, now, sweepPerCall)
	}
	h.mu.Unlock()
}

// Allow takes the call's tokens if they are all available at now and reports whether it did;
// it never reserves tokens in the future. It is the server-side view (an emulator or simulator
// deciding whether AWS would throttle) and ignores the mode and MaxWait. rule names the rule
// that refused the call, or the calls rule that admitted it ("" when no rule covers the call).
// It does not allocate, except to create a bucket for a key seen for the first time.
func (l *Limiter) Allow(now time.Time, key Key, units int) (ok bool, rule string) {
	rt := l.route(key.Service, key.Operation, key.Region)
	if p := rt.fast; p != nil {
		// Fast path: one unpartitioned bucket.
		p.mu.Lock()
		ok = p.b.lim.AllowN(p.b.at(now), rt.fastCost)
		if ok {
			p.c.admitted++
		} else {
			p.c.refused++
		}
		p.mu.Unlock()
		return ok, rt.fastName
	}
	c := rt.calls
	if rt.units == nil {
		if c == nil {
			return true, ""
		}
		h := l.acquire(now, c, &key, nil)
		ok = h.b.lim.AllowN(h.b.at(now), c.rule.cost)
		count(h.c, ok)
		l.release(now, h, nil)
		return ok, c.rule.name
	}
	return l.allowBoth(now, rt, &key, units)
}

func count(c *counters, ok bool) {
	if ok {
		c.admitted++
	} else {
		c.refused++
	}
}

// allowBoth is Allow for a call that a units rule covers (and maybe a calls rule too).
func (l *Limiter) allowBoth(now time.Time, rt *route, key *Key, units int) (bool, string) {
	if rt.calls == nil {
		u := rt.units
		h := l.acquire(now, u, key, nil)
		ok := h.b.lim.AllowN(h.b.at(now), tokensFor(u, units))
		count(h.c, ok)
		l.release(now, h, nil)
		return ok, u.rule.name
	}
	hc, hu := l.lockBoth(now, rt, key)
	defer l.unlockBoth(now, hc, hu)
	tc, tu := hc.b.at(now), hu.b.at(now)
	nc, nu := rt.calls.rule.cost, tokensFor(rt.units, units)
	switch {
	case hc.b.lim.TokensAt(tc) < float64(nc):
		hc.c.refused++
		hu.c.refused++
		return false, rt.calls.rule.name
	case hu.b.lim.TokensAt(tu) < float64(nu):
		hc.c.refused++
		hu.c.refused++
		return false, rt.units.rule.name
	}
	// Both have the tokens at these very times, under their locks: both AllowN succeed.
	hc.b.lim.AllowN(tc, nc)
	hu.b.lim.AllowN(tu, nu)
	hc.c.admitted++
	hu.c.admitted++
	return true, rt.calls.rule.name
}

// lockBoth locks the calls and units buckets of a route. Calls that need two buckets are
// serialised by dualMu: a goroutine holding one bucket lock and waiting for another is then
// always the only one, so no lock-order cycle can form, while single-bucket calls never hold two
// locks at once.
func (l *Limiter) lockBoth(now time.Time, rt *route, key *Key) (held, held) {
	l.dualMu.Lock()
	hc := l.acquire(now, rt.calls, key, nil)
	// Mark the first bucket used before the second acquire, which may sweep the same shard
	// for room: an idle, full bucket we are about to use must not be evicted under us.
	hc.b.at(now)
	hu := l.acquire(now, rt.units, key, hc.mu)
	return hc, hu
}

func (l *Limiter) unlockBoth(now time.Time, hc, hu held) {
	l.release(now, hu, hc.mu)
	l.release(now, hc, nil)
	l.dualMu.Unlock()
}

// Reserve decides a call at now under the limiter's mode and takes (or reserves) its tokens.
// units is the resource count for units rules (ignored by calls rules; <= 0 means 1); deadline
// is when the caller gives up (zero: none).
//
// Enforce: the tokens are reserved and Reservation.Delay says how long to wait before sending;
// if that wait would exceed MaxWait or pass the deadline, nothing is reserved and a
// *RefusedError is returned. FailFast: any needed wait is a refusal. Shadow: never delays nor
// refuses; Reservation.WouldWait and WouldRefuse report what Enforce would have done, and tokens
// are taken only if available.
//
// A call no rule covers is admitted with a zero Reservation. Reserve does not allocate except to
// return a *RefusedError or to create a bucket for a key seen for the first time.
func (l *Limiter) Reserve(now time.Time, key Key, units int, deadline time.Time) (Reservation, error) {
	rt := l.route(key.Service, key.Operation, key.Region)
	if rt.calls == nil && rt.units == nil {
		return Reservation{}, nil
	}
	limit, limitReason := l.waitLimit(now, deadline)
	var (
		hc, hu held
		sc     = rt.calls
	)
	switch {
	case rt.calls != nil && rt.units != nil:
		hc, hu = l.lockBoth(now, rt, &key)
		defer l.unlockBoth(now, hc, hu)
	case rt.calls != nil:
		hc = l.acquire(now, rt.calls, &key, nil)
		defer l.release(now, hc, nil)
	default:
		sc = rt.units
		hc = l.acquire(now, rt.units, &key, nil)
		defer l.release(now, hc, nil)
	}
	r := Reservation{l: l, rule: sc.rule}
	nc := tokensFor(sc, units)
	tc := hc.b.at(now)
	var nu int
	var tu time.Time
	if hu.b != nil {
		nu = tokensFor(rt.units, units)
		tu = hu.b.at(now)
		r.unitsRule = rt.units.rule
	}

	if l.cfg.mode != Enforce {
		// Take the tokens only if all are available now; otherwise say how long it would take.
		wc, okc := hc.b.waitFor(tc, nc, sc.rule.limit, sc.rule.Burst)
		wait, refusing := sinceNow(now, tc, wc), sc.rule
		okAll, availableNow := okc, wc == 0
		if hu.b != nil {
			wu, oku := hu.b.waitFor(tu, nu, rt.units.rule.limit, rt.units.rule.Burst)
			okAll, availableNow = okAll && oku, availableNow && wu == 0
			if wu = sinceNow(now, tu, wu); !oku || (okc && wu > wait) {
				wait, refusing = wu, rt.units.rule
			}
		}
		if okAll && availableNow {
			hc.b.lim.AllowN(tc, nc)
			hc.c.admitted++
			if hu.b != nil {
				hu.b.lim.AllowN(tu, nu)
				hu.c.admitted++
			}
			return r, nil
		}
		reason := RefusedFailFast
		switch {
		case !okAll:
			reason, wait = RefusedExceedsBurst, 0
		case l.cfg.mode == Shadow && (limit < 0 || wait <= limit):
			reason = 0
		case l.cfg.mode == Shadow:
			reason = limitReason
		}
		if l.cfg.mode == Shadow {
			r.wouldWait, r.wouldRefuse = wait, reason
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
			r.refusingRule = refusing
			return r, nil
		}
		hc.c.refused++
		if hu.b != nil {
			hu.c.refused++
		}
		return Reservation{}, l.refusal(rt, &key, refusing, wait, reason)
	}

	// Enforce: reserve, then undo if the wait is too long. The locks are held throughout, so
	// the undo restores exactly the previous state.
	dc, okc := hc.b.reserve(tc, nc)
	if !okc {
		hc.c.refused++
		if hu.b != nil {
			hu.c.refused++
		}
		return Reservation{}, l.refusal(rt, &key, sc.rule, 0, RefusedExceedsBurst)
	}
	// Delays count from the caller's now; a bucket that has already seen a later time (another
	// caller's clock) decides at that time, so the call is due no earlier than it.
	dueC := tc.Add(dc)
	delay, refusing := max(vtime.Sub(dueC, now), 0), sc.rule
	if hu.b != nil {
		du, oku := hu.b.reserve(tu, nu)
		if !oku {
			hc.b.give(tc, nc)
			hc.c.refused++
			hu.c.refused++
			return Reservation{}, l.refusal(rt, &key, rt.units.rule, 0, RefusedExceedsBurst)
		}
		dueU := tu.Add(du)
		if d := vtime.Sub(dueU, now); d > delay {
			delay, refusing = d, rt.units.rule
		}
		r.u = reserved{mu: hu.mu, b: hu.b, n: nu, at: dueU}
	}
	if limit >= 0 && delay > limit {
		hc.b.give(tc, nc)
		hc.c.refused++
		if hu.b != nil {
			hu.b.give(tu, nu)
			hu.c.refused++
		}
		return Reservation{}, l.refusal(rt, &key, refusing, delay, limitReason)
	}
	r.c = reserved{mu: hc.mu, b: hc.b, n: nc, at: dueC}
	r.delay = delay
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
	return r, nil
}

// sinceNow converts a wait d counted from the bucket's time t into one counted from the caller's
// now (t is later than now when another caller's clock ran ahead). No wait stays no wait.
func sinceNow(now, t time.Time, d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return max(vtime.Sub(t.Add(d), now), 0)
}

// waitLimit returns the longest wait Reserve may hand out at now, and the reason for refusing a
// longer one; -1 means no limit.
func (l *Limiter) waitLimit(now, deadline time.Time) (time.Duration, RefusalReason) {
	limit, reason := time.Duration(-1), RefusalReason(0)
	if l.cfg.maxWait > 0 {
		limit, reason = l.cfg.maxWait, RefusedMaxWait
	}
	if !deadline.IsZero() {
		if d := max(vtime.Sub(deadline, now), 0); limit < 0 || d < limit {
			limit, reason = d, RefusedDeadline
		}
	}
	return limit, reason
}

func (l *Limiter) refusal(rt *route, key *Key, r *crule, wait time.Duration, reason RefusalReason) error {
	svc, op := rt.service, rt.operation
	if rt.uncached {
		svc, op = key.Service, key.Operation
	}
	op, variant, _ := strings.Cut(op, ":")
	return &RefusedError{Rule: r.name, Service: svc, Operation: op, Variant: variant, Wait: wait, Reason: reason}
}

// String describes the limiter's configuration.
func (l *Limiter) String() string {
	return fmt.Sprintf("limiter(%d rules, mode %v, max wait %v, idle TTL %v, max keys %d)",
		len(l.rules), l.cfg.mode, l.cfg.maxWait, l.cfg.idleTTL, l.cfg.maxKeys)
}

// joinCopy returns a+b in new memory of its own, so the bucket never pins the caller's buffer
// (plain concatenation returns b itself when a is empty).
func joinCopy(a, b string) string {
	if len(a)+len(b) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.Grow(len(a) + len(b))
	sb.WriteString(a)
	sb.WriteString(b)
	return sb.String()
}
