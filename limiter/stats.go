package limiter

import "time"

// RuleStats are one rule's counters and its number of live buckets.
type RuleStats struct {
	Rule    string
	Service string
	Charge  Charge
	// Keys is the number of live buckets of the rule (unpartitioned ones plus partitioned ones
	// not yet evicted; the overflow lanes are not counted).
	Keys int
	// Admitted counts calls admitted at once; Delayed calls admitted after a wait (Enforce);
	// Refused calls refused (Allow returning false, or a *RefusedError).
	Admitted, Delayed, Refused uint64
	// WouldWait and WouldRefuse count, in Shadow mode, calls Enforce would have delayed or
	// refused.
	WouldWait, WouldRefuse uint64
	// Overflowed counts calls decided by the rule's overflow lanes because MaxKeys was reached.
	Overflowed uint64
	// Evicted counts idle buckets evicted.
	Evicted uint64
	// Throttled and Succeeded count the feedback calls (Limiter.Feedback, Throttled,
	// Succeeded).
	Throttled, Succeeded uint64
	// Cuts and Growths count the adaptive rate's cuts and reported growth steps (RateChange).
	Cuts, Growths uint64
	// Learned is the number of live buckets running at a learned rate (below the rule's Rate;
	// for LearnedRule, throttled at least once), and LearnedRate their mean rate in tokens per
	// second (0 when there are none).
	Learned     int
	LearnedRate float64
}

// AppendRuleStats appends every rule's stats, in rule order, to dst and returns it; an adaptive
// limiter adds a last row for LearnedRule. With a dst of sufficient capacity it does not
// allocate. It locks each bucket group briefly.
func (l *Limiter) AppendRuleStats(dst []RuleStats) []RuleStats {
	start := len(dst)
	for _, cr := range l.crules {
		dst = append(dst, RuleStats{Rule: cr.name, Service: cr.Service, Charge: cr.Charge,
			Throttled: cr.throttled.Load(), Succeeded: cr.succeeded.Load()})
	}
	out := dst[start:]
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		for pi := range s.counts {
			out[l.partitioned[pi].index].add(&s.counts[pi])
		}
		s.mu.Unlock()
	}
	l.routesMu.RLock()
	for i, cr := range l.crules {
		for _, p := range cr.pins {
			p.mu.Lock()
			out[i].Keys++
			out[i].add(&p.c)
			p.mu.Unlock()
		}
		lanes := cr.overflow.all()
		for j := range lanes {
			p := &lanes[j]
			p.mu.Lock()
			out[i].add(&p.c)
			p.mu.Unlock()
		}
	}
	l.routesMu.RUnlock()
	for i := range out {
		if out[i].Learned > 0 {
			out[i].LearnedRate /= float64(out[i].Learned)
		} else {
			out[i].LearnedRate = 0
		}
	}
	return dst
}

func (s *RuleStats) add(c *counters) {
	s.Admitted += c.admitted
	s.Delayed += c.delayed
	s.Refused += c.refused
	s.WouldWait += c.wouldWait
	s.WouldRefuse += c.wouldRefuse
	s.Overflowed += c.overflowed
	s.Evicted += c.evicted
	s.Cuts += c.cuts
	s.Growths += c.growths
	s.Keys += int(c.keys)
	s.Learned += int(c.learned)
	s.LearnedRate += c.learnedRate
}

// RuleStats returns the stats of the rule with the given name (LearnedRule included).
func (l *Limiter) RuleStats(name string) (RuleStats, bool) {
	for i, cr := range l.crules {
		if cr.name == name {
			all := l.AppendRuleStats(make([]RuleStats, 0, len(l.crules)))
			return all[i], true
		}
	}
	return RuleStats{}, false
}

// Keys returns the number of live buckets: unpartitioned ones in use plus partitioned ones not
// yet evicted.
func (l *Limiter) Keys() int {
	return int(l.live.Load() + l.pinned.Load())
}

// Tokens reports the tokens available at now in the bucket of the calls rule covering key (or of
// its units rule when no calls rule covers it; of its learned bucket in an adaptive limiter),
// and that bucket's burst (scaled with a learned rate; at least 1); ok is false when no bucket
// decides the call (a call no rule covers, before AWS first throttled it). It changes nothing: a
// key of a rule without a bucket yet (or whose bucket was evicted) reports a full bucket, which
// is what its first call would find.
func (l *Limiter) Tokens(now time.Time, key Key) (available float64, burst int, ok bool) {
	rt := l.route(key.Service, key.Operation, key.Region)
	sc := rt.calls
	if sc == nil {
		sc = rt.units
	}
	if sc == nil || (sc.rule.learned && !l.learning(sc, &key)) {
		return 0, 0, false
	}
	available, burst = l.tokens(now, sc, &key)
	return available, burst, true
}

// UnitTokens is Tokens for the units rule covering key.
func (l *Limiter) UnitTokens(now time.Time, key Key) (available float64, burst int, ok bool) {
	rt := l.route(key.Service, key.Operation, key.Region)
	if rt.units == nil {
		return 0, 0, false
	}
	available, burst = l.tokens(now, rt.units, &key)
	return available, burst, true
}

// tokens returns the level at now of key's bucket in scope sc and its burst (rounded down to
// whole tokens, at least 1; maxInt for an unlimited bucket).
func (l *Limiter) tokens(now time.Time, sc *scope, key *Key) (float64, int) {
	if sc.shared != nil {
		// This process's part of the shared bucket: its lease's local bucket.
		st := l.cfg.store.State(now, sc.shared)
		return st.Level, max(int(st.Local), 1)
	}
	t := ticks(now)
	level, burst := sc.rule.burst, sc.rule.burst
	l.peek(t, sc, key, func(b *bucket, r *crule) { level, burst = b.level(t, r), b.burstIn(r) })
	if burst >= float64(maxInt) {
		return level, maxInt
	}
	return level, max(int(burst), 1)
}

const maxInt = int(^uint(0) >> 1)

// Sweep checks every partitioned bucket and evicts those idle for the idle TTL and full at now;
// it returns how many it evicted. It is optional: calls already evict a few buckets each, lazily.
// Use it when a limiter goes quiet (a simulator between phases) to free memory at once.
func (l *Limiter) Sweep(now time.Time) int {
	t := ticks(now)
	evicted := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		// A pass over the table from the cursor, bounded by its size plus what a shift can
		// move back. A removal can shrink the table, which starts the cursor afresh on a
		// table the rest of the pass may not cover: pass again until a pass evicts nothing
		// (then it covered the whole table).
		for {
			n := s.sweep(l, t, len(s.slots)+s.n, false, false)
			evicted += n
			if n == 0 || s.n == 0 {
				break
			}
		}
		s.mu.Unlock()
	}
	return evicted
}
