package limiter

import (
	"sync"
	"sync/atomic"
)

// bucket is one token bucket, written for the limiter rather than wrapped: 48 bytes holding the
// level, the latest time seen, the refill rate in force and the adaptive state (adaptive.go).
// Every method requires the caller to hold the mutex that guards the bucket (its pinned
// bucket's, or its shard's).
//
// The bucket's shape comes from its rule (r *crule, passed to the methods): the rule's Rate and
// Burst, or — once the bucket has learned a lower rate — that rate and the burst scaled with it
// (burstIn).
type bucket struct {
	// last is the latest time the bucket was driven with, in ticks. Earlier times are treated
	// as last, so that a refill interval is never counted twice when concurrent callers'
	// clocks arrive out of order.
	last int64
	// tokens is the level at last; negative when calls have reserved tokens ahead (a debt
	// that the refill repays before anyone else is admitted). +Inf in an unlimited bucket.
	tokens float64
	// winAt starts the adaptive measurement window (ticks): successes and throttles are
	// counted from it.
	winAt int64
	// rate is the refill rate in force, tokens per second: the rule's Rate, a learned rate
	// below it, or +Inf (a learned bucket never throttled: unlimited).
	rate float32
	// The growth curve starts at rate base, curveOff seconds after winAt (negative: before
	// it), recovers to plateau, then probes beyond it (adaptive.go).
	base, plateau float32
	curveOff      float32
	// cutAgo is how many seconds before winAt the last cut happened.
	cutAgo float32
	// succ and thr count successes and throttles since winAt (halved, with the window, when
	// they grow large).
	succ  uint16
	thr   uint8
	flags uint8
}

const (
	// flagDry: since the last success, an admission found the bucket without a call's worth
	// of tokens (the key was demand-limited).
	flagDry = 1 << iota
	// flagCut: the bucket has been cut at least once; its rate is learned.
	flagCut
	// flagArmed: AWS throttled the bucket once; its measurement window (and reaction window)
	// started then. The next throttle after the reaction window cuts.
	flagArmed
	// flagQuick: an armed bucket took a quick cut at its second throttle.
	flagQuick
)

// init makes b a full bucket of rule r at time t.
func (b *bucket) init(r *crule, t int64) {
	*b = bucket{last: t, tokens: r.burst, winAt: t, rate: r.rate32, base: r.rate32, plateau: r.rate32}
}

// rateIn returns the refill rate in force in tokens per second: the rule's exact Rate while the
// bucket runs at it (the float32 copy is only for learned rates).
func (b *bucket) rateIn(r *crule) float64 {
	if b.rate == r.rate32 {
		return r.rate
	}
	return float64(b.rate)
}

// burstIn returns the bucket's capacity: the rule's Burst at the rule's Rate. A learned rate
// scales it (a process that gets a fifth of an account's rate gets a fifth of its burst, so
// that a fleet of idle processes cannot together burst past the account's bucket), but never
// below one call. A bucket of the learned rule (calls no rule covers) holds one second of its
// rate.
func (b *bucket) burstIn(r *crule) float64 {
	if b.rate == r.rate32 {
		return r.burst
	}
	if r.learned {
		return max(r.costF, float64(b.rate))
	}
	return max(r.costF, r.burst*float64(b.rate)/r.rate)
}

// advance refills the bucket up to t and returns the time it decides at: t, or the latest
// time it has already seen when that is later.
func (b *bucket) advance(t int64, rate, burst float64) int64 {
	if t <= b.last {
		return b.last
	}
	if b.tokens < burst {
		b.tokens = min(burst, b.tokens+seconds(t-b.last)*rate)
	}
	b.last = t
	return t
}

// allow takes n tokens at t if they are there and reports whether it did.
func (b *bucket) allow(t int64, n float64, r *crule) bool {
	rate, burst := b.rateIn(r), b.burstIn(r)
	b.advance(t, rate, burst)
	if b.tokens >= n {
		b.tokens -= n
		if b.tokens < n {
			b.flags |= flagDry
		}
		return true
	}
	b.flags |= flagDry
	return false
}

// reserve takes n tokens at the bucket's time (after advance), going into debt if needed, and
// returns how long, in ticks from that time, the caller must wait for them.
func (b *bucket) reserve(n, rate float64) int64 {
	b.tokens -= n
	if b.tokens < n {
		b.flags |= flagDry
	}
	if b.tokens >= 0 {
		return 0
	}
	return ticksFor(-b.tokens, rate)
}

// waitFor returns how long after the bucket's time n tokens will be there, without taking any.
func (b *bucket) waitFor(n, rate float64) int64 {
	return ticksFor(n-b.tokens, rate)
}

// give returns n tokens, capped at the burst. Returning the tokens of a reservation whose time
// has not come restores exactly the state the bucket would have had without it.
func (b *bucket) give(n, burst float64) {
	b.tokens = min(b.tokens+n, burst)
}

// full reports whether the bucket is full at t (without recording t).
func (b *bucket) full(t int64, r *crule) bool {
	rate, burst := b.rateIn(r), b.burstIn(r)
	tokens := b.tokens
	if t > b.last && tokens < burst {
		tokens += seconds(t-b.last) * rate
	}
	return tokens >= burst
}

// level returns the tokens at t (without recording t).
func (b *bucket) level(t int64, r *crule) float64 {
	rate, burst := b.rateIn(r), b.burstIn(r)
	tokens := b.tokens
	if t > b.last && tokens < burst {
		tokens = min(burst, tokens+seconds(t-b.last)*rate)
	}
	return tokens
}

// counters count one bucket group's decisions; guarded by the same mutex as its buckets.
type counters struct {
	admitted    uint64 // admitted at once
	delayed     uint64 // admitted after a wait (enforce mode)
	refused     uint64 // refused (Allow false or a RefusedError)
	wouldWait   uint64 // shadow mode: would have waited
	wouldRefuse uint64 // shadow mode: would have been refused
	overflowed  uint64 // decided by a rule's overflow lanes (MaxKeys reached)
	evicted     uint64 // idle buckets evicted (shard counters only)
	cuts        uint64 // adaptive rate cuts
	growths     uint64 // adaptive rate growth steps (see RateChange)
	keys        int64  // live buckets (shard counters only)
	learned     int64  // live buckets running at a learned rate
	learnedRate float64
}

func (c *counters) add(o *counters) {
	c.admitted += o.admitted
	c.delayed += o.delayed
	c.refused += o.refused
	c.wouldWait += o.wouldWait
	c.wouldRefuse += o.wouldRefuse
	c.overflowed += o.overflowed
	c.evicted += o.evicted
	c.cuts += o.cuts
	c.growths += o.growths
	c.keys += o.keys
	c.learned += o.learned
	c.learnedRate += o.learnedRate
}

// pinnedBucket is a bucket with its own mutex: the single bucket of an unpartitioned scope, or
// one lane of a rule's overflow. Pinned buckets are never evicted; their number is bounded by
// the number of distinct (service, operation, region) routes, which is capped (see maxRoutes).
type pinnedBucket struct {
	mu       sync.Mutex
	overflow bool        // this is a lane of a rule's overflow
	used     atomic.Bool // an overflow lane that has been charged
	b        bucket
	c        counters
}

func newPinnedBucket(r *crule, t int64) *pinnedBucket {
	p := &pinnedBucket{}
	p.b.init(r, t)
	return p
}
