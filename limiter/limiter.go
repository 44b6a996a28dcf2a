package limiter

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limiter keeps one token bucket per (rule, region, operation or group[, resource[, prefix]]),
// shaped by its rules, and — unless built WithAdaptive(false) — learns each bucket's rate from
// the feedback it is given. It never reads the clock except in Wait: every decision takes now,
// so a simulator can drive it in virtual time. It is safe for concurrent use.
type Limiter struct {
	rules   Rules
	crules  []*crule // the rules, then the learned rule when adaptive
	learned *crule   // the rule of calls no rule covers; nil without adaptive rates
	// partitioned are the rules with partitioned buckets, by crule.pindex.
	partitioned []*crule
	cfg         config

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
//
// By default the limiter is a client's: its rates are adaptive (rules are ceilings, calls no
// rule covers get learned buckets) and it keeps at most DefaultMaxKeys partitioned buckets.
// A server model (an emulator deciding as AWS would) uses WithAdaptive(false).
func New(rules Rules, opts ...Option) *Limiter {
	if err := rules.Validate(); err != nil {
		panic(err)
	}
	l := &Limiter{
		rules:          append(Rules(nil), rules...),
		cfg:            config{mode: Enforce, idleTTL: DefaultIdleTTL, maxKeys: DefaultMaxKeys, adaptive: true},
		routes:         map[routeKey]*route{},
		scopes:         map[scopeKey]*scope{},
		overflowRoutes: map[[2]int]*route{},
	}
	for _, o := range opts {
		o(&l.cfg)
	}
	for i, r := range l.rules {
		l.crules = append(l.crules, compileRule(r, i, l.cfg.adaptive))
	}
	if l.cfg.adaptive {
		l.learned = learnedRule(len(l.crules))
		l.crules = append(l.crules, l.learned)
	}
	// Shards count the decisions of partitioned buckets only (an unpartitioned bucket keeps its
	// own counters): one row per partitioned rule.
	for _, cr := range l.crules {
		if cr.Partition != PartitionNone {
			cr.pindex = len(l.partitioned)
			l.partitioned = append(l.partitioned, cr)
		}
	}
	for i := range l.shards {
		l.shards[i].counts = make([]counters, len(l.partitioned))
	}
	return l
}

// Mode returns the limiter's mode.
func (l *Limiter) Mode() Mode { return l.cfg.mode }

// Adaptive reports whether the limiter learns its rates from feedback.
func (l *Limiter) Adaptive() bool { return l.cfg.adaptive }

// Rules returns a copy of the limiter's rules.
func (l *Limiter) Rules() Rules { return append(Rules(nil), l.rules...) }

// Match returns the first rule charged by calls that covers the call (see [Rules.Match]).
func (l *Limiter) Match(service, operation, region string) (Rule, bool) {
	return l.rules.Match(service, operation, region)
}

// tokensFor returns the tokens a call takes from scope sc's bucket.
func tokensFor(sc *scope, units int) float64 {
	if sc.rule.Charge == ChargeCalls {
		return sc.rule.costF
	}
	if units <= 0 {
		units = 1
	}
	return float64(units) * sc.rule.costF
}

// held is a bucket whose guarding mutex the caller holds, with its rule and the counters that
// go with it.
type held struct {
	mu *sync.Mutex
	b  *bucket
	r  *crule
	c  *counters
	sh *shard // the shard, for partitioned buckets (swept before unlocking)
}

// partitionOf returns the resource and prefix that identify key's bucket in scope sc, and
// their hash.
func partitionOf(sc *scope, key *Key) (resource, prefix string, h uint64) {
	resource = key.Resource
	if sc.rule.Partition == PartitionPrefix {
		prefix = key.Prefix
	}
	return resource, prefix, hashString(hashString(sc.seed, resource), prefix)
}

// acquire locks and returns the bucket of scope sc for key, creating it full at t if needed.
// A partitioned key that finds no room (MaxKeys) gets one of the rule's overflow lanes instead.
// If other is non-nil and guards the same lock, the lock is already held and not taken again.
func (l *Limiter) acquire(t int64, sc *scope, key *Key, other *sync.Mutex) held {
	if p := sc.pin; p != nil {
		if &p.mu != other {
			p.mu.Lock()
		}
		return held{mu: &p.mu, b: &p.b, r: sc.rule, c: &p.c}
	}
	resource, prefix, h := partitionOf(sc, key)
	if sc.overflow {
		return l.acquireLane(sc.rule, h, other)
	}
	s := &l.shards[h>>(64-shardBits)]
	if &s.mu != other {
		s.mu.Lock()
	}
	c := &s.counts[sc.rule.pindex]
	if b := s.find(h, sc, resource, prefix); b != nil {
		return held{mu: &s.mu, b: &b.bucket, r: sc.rule, c: c, sh: s}
	}
	if !l.reserveKey(t, s) {
		if &s.mu != other {
			s.mu.Unlock()
		}
		return l.acquireLane(sc.rule, h, other)
	}
	b := &pbucket{sc: sc}
	b.setKey(resource, prefix)
	b.init(sc.rule, t)
	if ov := sc.rule.overflow.peek(h); ov != nil && ov.used.Load() {
		startFromLane(&b.bucket, sc.rule, ov, t, other)
	}
	s.insert(h, b)
	c.keys++
	return held{mu: &s.mu, b: &b.bucket, r: sc.rule, c: c, sh: s}
}

// acquireLane locks and returns the overflow lane of rule r for hash h.
func (l *Limiter) acquireLane(r *crule, h uint64, other *sync.Mutex) held {
	p := r.overflow.lane(r, h)
	if &p.mu != other {
		p.mu.Lock()
	}
	p.c.overflowed++
	p.used.Store(true)
	return held{mu: &p.mu, b: &p.b, r: r, c: &p.c}
}

// startFromLane lowers a new bucket to the level of the overflow lane its key hashes to. The
// key may have been charged to that lane while MaxKeys was reached; starting its own bucket no
// fuller than the lane means the move cannot hand it more than the quota. If the lane is busy
// (its lock is not free at once), the new bucket starts empty: waiting for the lock while
// holding a shard's could deadlock, and empty is the safe side.
func startFromLane(b *bucket, r *crule, ov *pinnedBucket, t int64, held *sync.Mutex) {
	level := 0.0
	switch {
	case &ov.mu == held:
		level = ov.b.level(t, r)
	case ov.mu.TryLock():
		level = ov.b.level(t, r)
		ov.mu.Unlock()
	}
	b.tokens = min(b.tokens, max(level, 0))
}

// reserveKey makes room for one more partitioned bucket in shard s (whose lock is held): it
// evicts an idle bucket of the shard if it finds one within a few slots (so that new keys
// replace idle ones), and, when MaxKeys is reached, sweeps harder. It reports false when there
// is no room.
func (l *Limiter) reserveKey(t int64, s *shard) bool {
	s.sweep(l, t, sweepOnInsert, false, true)
	max := int64(l.cfg.maxKeys)
	if max <= 0 {
		l.live.Add(1)
		return true
	}
	if l.live.Load() >= max {
		if s.sweep(l, t, sweepOnFull, true, false) == 0 {
			// Try a few other shards without waiting for their locks (waiting could deadlock).
			for k := 0; k < 4 && l.live.Load() >= max; k++ {
				o := &l.shards[l.sweepCursor.Add(1)%numShards]
				if o != s && o.mu.TryLock() {
					o.sweep(l, t, sweepOnFull, true, false)
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
func (l *Limiter) release(t int64, h held, other *sync.Mutex) {
	if h.mu == other {
		return
	}
	if h.sh != nil {
		h.sh.sweep(l, t, sweepPerCall, false, false)
	}
	h.mu.Unlock()
}

// Allow takes the call's tokens if they are all available at now and reports whether it did;
// it never reserves tokens in the future. It is the server-side view (an emulator or simulator
// deciding whether AWS would throttle) and ignores the mode and MaxWait. rule names the rule
// that refused the call, or the calls rule that admitted it ("" when no rule covers the call
// and the limiter is not adaptive; LearnedRule for a learned bucket). It does not allocate,
// except to create a bucket for a key seen for the first time.
func (l *Limiter) Allow(now time.Time, key Key, units int) (ok bool, rule string) {
	rt := l.route(key.Service, key.Operation, key.Region)
	if p := rt.fast; p != nil {
		// Fast path: one unpartitioned bucket.
		r := rt.fastRule
		t := ticks(now)
		p.mu.Lock()
		ok = p.b.allow(t, r.costF, r)
		if ok {
			p.c.admitted++
		} else {
			p.c.refused++
		}
		p.mu.Unlock()
		return ok, r.name
	}
	c := rt.calls
	if c != nil && c.rule.learned && !l.learning(c, &key) {
		c = nil
	}
	if c != nil && c.shared != nil {
		return l.allowShared(now, rt, c, &key, units)
	}
	if rt.units == nil {
		if c == nil {
			return true, ""
		}
		t := ticks(now)
		h := l.acquire(t, c, &key, nil)
		ok = h.b.allow(t, c.rule.costF, h.r)
		count(h.c, ok)
		l.release(t, h, nil)
		return ok, c.rule.name
	}
	return l.allowBoth(ticks(now), rt, c, &key, units)
}

// learning reports whether the learned scope sc has a bucket for key: a call no rule covers is
// not limited, and costs no bucket, until AWS first throttles it (Feedback creates the bucket).
func (l *Limiter) learning(sc *scope, key *Key) bool {
	resource, prefix, h := partitionOf(sc, key)
	s := &l.shards[h>>(64-shardBits)]
	s.mu.Lock()
	found := s.find(h, sc, resource, prefix) != nil
	s.mu.Unlock()
	return found
}

func count(c *counters, ok bool) {
	if ok {
		c.admitted++
	} else {
		c.refused++
	}
}

// allowBoth is Allow for a call that a units rule covers, and calls scope c (nil: none) too.
func (l *Limiter) allowBoth(t int64, rt *route, c *scope, key *Key, units int) (bool, string) {
	if c == nil {
		u := rt.units
		h := l.acquire(t, u, key, nil)
		ok := h.b.allow(t, tokensFor(u, units), h.r)
		count(h.c, ok)
		l.release(t, h, nil)
		return ok, u.rule.name
	}
	hc, hu := l.lockBoth(t, c, rt.units, key)
	defer l.unlockBoth(t, hc, hu)
	nc, nu := c.rule.costF, tokensFor(rt.units, units)
	hc.b.advance(t, hc.b.rateIn(hc.r), hc.b.burstIn(hc.r))
	hu.b.advance(t, hu.b.rateIn(hu.r), hu.b.burstIn(hu.r))
	switch {
	case hc.b.tokens < nc:
		hc.b.flags |= flagDry
		hc.c.refused++
		hu.c.refused++
		return false, c.rule.name
	case hu.b.tokens < nu:
		hc.c.refused++
		hu.c.refused++
		return false, rt.units.rule.name
	}
	// Both have the tokens at the buckets' times, under their locks: both take them.
	hc.b.allow(t, nc, hc.r)
	hu.b.allow(t, nu, hu.r)
	hc.c.admitted++
	hu.c.admitted++
	return true, c.rule.name
}

// lockBoth locks the calls and units buckets of a call. Calls that need two buckets are
// serialised by dualMu: a goroutine holding one bucket lock and waiting for another is then
// always the only one, so no lock-order cycle can form, while single-bucket calls never hold two
// locks at once.
func (l *Limiter) lockBoth(t int64, calls, units *scope, key *Key) (held, held) {
	l.dualMu.Lock()
	hc := l.acquire(t, calls, key, nil)
	// Mark the first bucket used before the second acquire, which may sweep the same shard
	// for room: an idle, full bucket we are about to use must not be evicted under us.
	hc.b.advance(t, hc.b.rateIn(hc.r), hc.b.burstIn(hc.r))
	hu := l.acquire(t, units, key, hc.mu)
	return hc, hu
}

func (l *Limiter) unlockBoth(t int64, hc, hu held) {
	l.release(t, hu, hc.mu)
	l.release(t, hc, nil)
	l.dualMu.Unlock()
}

// String describes the limiter's configuration.
func (l *Limiter) String() string {
	return fmt.Sprintf("limiter(%d rules, mode %v, adaptive %v, max wait %v, idle TTL %v, max keys %d)",
		len(l.rules), l.cfg.mode, l.cfg.adaptive, l.cfg.maxWait, l.cfg.idleTTL, l.cfg.maxKeys)
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
