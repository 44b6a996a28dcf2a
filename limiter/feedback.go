package limiter

import "time"

// Feedback is what a client learned from AWS's answer to one call the limiter admitted.
type Feedback struct {
	// Throttled: AWS refused the call with a throttling error (server-side). false: the call
	// succeeded. (Other failures teach the limiter nothing; do not report them.)
	Throttled bool
	// RetryAfter is the server's hint (x-amz-retry-after, Retry-After), if any: no call of the
	// key is admitted before it has passed. It is capped at 20 s.
	RetryAfter time.Duration
	// Latency is how long the call's attempt took from being sent to its answer (0: unknown).
	// The limiter keeps an estimate per API (service, operation, Region) and admits a call
	// that must wait only if its turn leaves that long before its deadline (see the package
	// documentation, "Deadlines").
	Latency time.Duration
}

// RateChange reports what a feedback did to the refill rate of the key's bucket. Its zero value
// (Kind() == RateUnchanged) means nothing changed worth reporting.
type RateChange struct {
	Rule  string  // the rule of the bucket (LearnedRule for a learned bucket)
	From  float64 // the rate before, tokens per second (+Inf: unlimited)
	To    float64 // the rate after
	Burst float64 // the bucket's burst at the new rate
	kind  changeKind
}

// RateChangeKind says what a RateChange is.
type RateChangeKind uint8

const (
	// RateUnchanged: nothing to report.
	RateUnchanged RateChangeKind = iota
	// RateCut: AWS throttled the key and its rate was cut.
	RateCut
	// RateGrowth: the rate grew past a step of about 6% (growth is continuous; it is reported
	// once per step, so a key reports a handful of growths per doubling, not one per call).
	RateGrowth
)

var rateChangeNames = [...]string{"unchanged", "cut", "growth"}

func (k RateChangeKind) String() string {
	if int(k) < len(rateChangeNames) {
		return rateChangeNames[k]
	}
	return "RateChangeKind(?)"
}

// Kind says whether the change is a cut, a reported growth step, or nothing.
func (c RateChange) Kind() RateChangeKind { return RateChangeKind(c.kind) }

// Feedback tells the limiter how AWS answered a call it admitted for key, at now, and returns
// what that did to the key's rate. Every call is counted (RuleStats.Throttled, Succeeded); in
// an adaptive limiter the key's calls bucket learns from it (see the package documentation,
// "Adaptive rates"): a throttle cuts the rate (at most once per reaction window) and pauses the
// key for RetryAfter, a success lets a demand-limited rate grow. Rules with NonAdaptive, units
// rules and non-adaptive limiters only count. It does not allocate.
func (l *Limiter) Feedback(now time.Time, key Key, f Feedback) RateChange {
	rt := l.route(key.Service, key.Operation, key.Region)
	rt.latency.observe(f.Latency)
	for _, sc := range [2]*scope{rt.calls, rt.units} {
		if sc == nil {
			continue
		}
		if f.Throttled {
			sc.rule.throttled.Add(1)
		} else {
			sc.rule.succeeded.Add(1)
		}
	}
	sc := rt.calls
	if sc != nil && sc.shared != nil {
		return l.feedbackShared(now, sc, f)
	}
	if sc == nil || !sc.rule.adaptive || (sc.rule.learned && !f.Throttled && !l.learning(sc, &key)) {
		// (A call no rule covers has no bucket until AWS first throttles it.)
		return RateChange{}
	}
	t := ticks(now)
	h := l.acquire(t, sc, &key, nil)
	wasLearned := h.b.rate != h.r.rate32
	before := float64(h.b.rate)
	var ch rateChange
	if f.Throttled {
		ch = h.b.throttled(t, h.r, int64(max(f.RetryAfter, 0)))
	} else {
		ch = h.b.succeeded(t, h.r)
	}
	isLearned := h.b.rate != h.r.rate32
	switch {
	case wasLearned && isLearned:
		h.c.learnedRate += float64(h.b.rate) - before
	case isLearned:
		h.c.learned++
		h.c.learnedRate += float64(h.b.rate)
	case wasLearned:
		h.c.learned--
		h.c.learnedRate -= before
	}
	switch ch.kind {
	case changeCut:
		h.c.cuts++
	case changeGrowth:
		h.c.growths++
	}
	l.release(t, h, nil)
	if ch.kind == noChange {
		return RateChange{}
	}
	return RateChange{Rule: sc.rule.name, From: ch.from, To: ch.to, Burst: ch.burst, kind: ch.kind}
}

// Throttled records that AWS throttled the call key at now (server-side): Feedback with
// Throttled set.
func (l *Limiter) Throttled(now time.Time, key Key) RateChange {
	return l.Feedback(now, key, Feedback{Throttled: true})
}

// Succeeded records that the call key succeeded at now: Feedback with Throttled unset.
func (l *Limiter) Succeeded(now time.Time, key Key) RateChange {
	return l.Feedback(now, key, Feedback{})
}

// Rate reports the refill rate in force at now for key's calls bucket (the calls rule's, or the
// learned bucket's), its burst, and whether that rate was learned (below the rule's Rate, or a
// learned bucket's finite rate). ok is false when no bucket decides the call. It changes
// nothing: a key without a bucket reports what its first call would find. +Inf means unlimited
// (a learned bucket AWS never throttled).
func (l *Limiter) Rate(now time.Time, key Key) (rate, burst float64, learned, ok bool) {
	rt := l.route(key.Service, key.Operation, key.Region)
	sc := rt.calls
	if sc == nil {
		sc = rt.units
	}
	if sc == nil {
		return 0, 0, false, false
	}
	if sc.shared != nil {
		st := l.cfg.store.State(now, sc.shared)
		return st.Rate, st.Burst, st.Learned, true
	}
	rate, burst = sc.rule.rate, sc.rule.burst
	l.peek(ticks(now), sc, &key, func(b *bucket, r *crule) {
		rate, burst, learned = b.rateIn(r), b.burstIn(r), b.rate != r.rate32
	})
	return rate, burst, learned, true
}

// peek calls f with key's bucket in scope sc under its lock, if the bucket exists.
func (l *Limiter) peek(t int64, sc *scope, key *Key, f func(*bucket, *crule)) {
	if p := sc.pin; p != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		f(&p.b, sc.rule)
		return
	}
	resource, prefix, h := partitionOf(sc, key)
	if sc.overflow {
		if p := sc.rule.overflow.peek(h); p != nil {
			p.mu.Lock()
			defer p.mu.Unlock()
			f(&p.b, sc.rule)
		}
		return
	}
	s := &l.shards[h>>(64-shardBits)]
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.find(h, sc, resource, prefix); b != nil {
		f(&b.bucket, sc.rule)
	}
}
