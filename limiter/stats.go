package limiter

import "time"

// RuleStats are one rule's counters and its number of live buckets.
type RuleStats struct {
	Rule    string
	Service string
	Charge  Charge
	// Keys is the number of live buckets of the rule (unpartitioned ones plus partitioned ones
	// not yet evicted; the overflow bucket is not counted).
	Keys int
	// Admitted counts calls admitted at once; Delayed calls admitted after a wait (Enforce);
	// Refused calls refused (Allow returning false, or a *RefusedError).
	Admitted, Delayed, Refused uint64
	// WouldWait and WouldRefuse count, in Shadow mode, calls Enforce would have delayed or
	// refused.
	WouldWait, WouldRefuse uint64
	// Overflowed counts calls decided by the rule's overflow bucket because MaxKeys was reached.
	Overflowed uint64
	// Evicted counts idle buckets evicted.
	Evicted uint64
	// Throttled and Succeeded count the feedback calls (Limiter.Throttled, Limiter.Succeeded).
	Throttled, Succeeded uint64
}

// AppendRuleStats appends every rule's stats, in rule order, to dst and returns it. With a dst
// of sufficient capacity it does not allocate. It locks each bucket group briefly.
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
		for ri := range s.counts {
			out[ri].add(&s.counts[ri])
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
		cr.overflow.mu.Lock()
		out[i].add(&cr.overflow.c)
		cr.overflow.mu.Unlock()
	}
	l.routesMu.RUnlock()
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
	s.Keys += int(c.keys)
}

// RuleStats returns the stats of the rule with the given name.
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
// its units rule when no calls rule covers it), and that bucket's burst; ok is false when no rule
// covers key. It changes nothing: a key without a bucket yet (or whose bucket was evicted)
// reports a full bucket, which is what its first call would find.
func (l *Limiter) Tokens(now time.Time, key Key) (available float64, burst int, ok bool) {
	rt := l.route(key.Service, key.Operation, key.Region)
	sc := rt.calls
	if sc == nil {
		sc = rt.units
	}
	if sc == nil {
		return 0, 0, false
	}
	return l.tokens(now, sc, &key), sc.rule.Burst, true
}

// UnitTokens is Tokens for the units rule covering key.
func (l *Limiter) UnitTokens(now time.Time, key Key) (available float64, burst int, ok bool) {
	rt := l.route(key.Service, key.Operation, key.Region)
	if rt.units == nil {
		return 0, 0, false
	}
	return l.tokens(now, rt.units, &key), rt.units.rule.Burst, true
}

func (l *Limiter) tokens(now time.Time, sc *scope, key *Key) float64 {
	full := float64(sc.rule.Burst)
	if p := sc.pin; p != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.b.lim.TokensAt(p.b.peekAt(now))
	}
	resource, prefix := key.Resource, ""
	if sc.rule.Partition == PartitionPrefix {
		prefix = key.Prefix
	}
	h := hashString(hashString(sc.seed, resource), prefix)
	s := &l.shards[h>>(64-shardBits)]
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.find(h, sc, resource, prefix)
	if b == nil {
		return full
	}
	return b.lim.TokensAt(b.peekAt(now))
}

// Throttled records that AWS throttled the call key at now (server-side). The static rules only
// count it (RuleStats.Throttled); adaptive rules will use it to lower their rate.
func (l *Limiter) Throttled(now time.Time, key Key) {
	rt := l.route(key.Service, key.Operation, key.Region)
	if rt.calls != nil {
		rt.calls.rule.throttled.Add(1)
	}
	if rt.units != nil {
		rt.units.rule.throttled.Add(1)
	}
}

// Succeeded records that the call key succeeded at now. The static rules only count it.
func (l *Limiter) Succeeded(now time.Time, key Key) {
	rt := l.route(key.Service, key.Operation, key.Region)
	if rt.calls != nil {
		rt.calls.rule.succeeded.Add(1)
	}
	if rt.units != nil {
		rt.units.rule.succeeded.Add(1)
	}
}

// Sweep checks every partitioned bucket and evicts those idle for the idle TTL and full at now;
// it returns how many it evicted. It is optional: calls already evict a few buckets each, lazily.
// Use it when a limiter goes quiet (a simulator between phases) to free memory at once.
func (l *Limiter) Sweep(now time.Time) int {
	evicted := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		// A pass over the table from the cursor, bounded by its size plus what a shift can
		// move back. A removal can shrink the table, which starts the cursor afresh on a
		// table the rest of the pass may not cover: pass again until a pass evicts nothing
		// (then it covered the whole table).
		for {
			n := s.sweep(l, now, len(s.slots)+s.n)
			evicted += n
			if n == 0 || s.n == 0 {
				break
			}
		}
		s.mu.Unlock()
	}
	return evicted
}
