package limiter

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// bucket is one token bucket: an x/time/rate Limiter driven only through its explicit-time
// methods, plus the latest time it has seen. Every method requires the caller to hold the mutex
// that guards the bucket (its pinned bucket's, or its shard's).
type bucket struct {
	lim rate.Limiter
	// last is the latest time the bucket was driven with. Earlier times are treated as last:
	// rate.Limiter would otherwise count the same interval's refill twice when concurrent
	// callers' clocks arrive out of order.
	last time.Time
}

// init makes b a bucket of the given rate and burst that is full at any time.
func (b *bucket) init(r rate.Limit, burst int) {
	b.lim.SetBurstAt(time.Time{}, burst)
	b.lim.SetLimitAt(time.Time{}, r)
	// A zero rate.Limiter starts empty; returning burst tokens fills it (capped at burst). From
	// then on it is full at any later time, and at any earlier one too (rate.Limiter counts no
	// refill backwards but keeps its tokens).
	b.lim.ReserveN(time.Time{}, -burst)
}

// at returns the time to drive the bucket with: now, or the latest time already seen if now is
// earlier. It records now as seen.
func (b *bucket) at(now time.Time) time.Time {
	if now.Before(b.last) {
		return b.last
	}
	b.last = now
	return now
}

// peekAt is at without recording now.
func (b *bucket) peekAt(now time.Time) time.Time {
	if now.Before(b.last) {
		return b.last
	}
	return now
}

// reserve takes n tokens at t, going into debt if needed, and returns how long the caller must
// wait for them. ok is false when n exceeds the burst (it can never be satisfied).
func (b *bucket) reserve(t time.Time, n int) (time.Duration, bool) {
	r := b.lim.ReserveN(t, n)
	if !r.OK() {
		return 0, false
	}
	return r.DelayFrom(t), true
}

// give returns n tokens at t (the bucket caps them at its burst when it next refills).
// Returning tokens taken by a reservation whose time to act is not yet past restores exactly
// the state the bucket would have had without it.
func (b *bucket) give(t time.Time, n int) {
	b.lim.ReserveN(t, -n)
}

// waitFor returns how long until n tokens are available at t, without taking any; ok is false
// when n exceeds the burst.
func (b *bucket) waitFor(t time.Time, n int, r rate.Limit, burst int) (time.Duration, bool) {
	if n > burst {
		return 0, false
	}
	need := float64(n) - b.lim.TokensAt(t)
	if need <= 0 {
		return 0, true
	}
	return durationFromTokens(r, need), true
}

// durationFromTokens mirrors rate.Limit's conversion: the time to accumulate tokens at rate r.
func durationFromTokens(r rate.Limit, tokens float64) time.Duration {
	if r <= 0 {
		return time.Duration(math.MaxInt64)
	}
	d := float64(time.Second) * tokens / float64(r)
	if d >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(d)
}

// counters count one bucket's decisions; guarded by the same mutex as the bucket.
type counters struct {
	admitted    uint64 // admitted at once
	delayed     uint64 // admitted after a wait (enforce mode)
	refused     uint64 // refused (Allow false or a RefusedError)
	wouldWait   uint64 // shadow mode: would have waited
	wouldRefuse uint64 // shadow mode: would have been refused
	overflowed  uint64 // decided by a rule's overflow bucket (MaxKeys reached)
	evicted     uint64 // idle buckets evicted (shard counters only)
	keys        int64  // live buckets (shard counters only)
}

func (c *counters) add(o *counters) {
	c.admitted += o.admitted
	c.delayed += o.delayed
	c.refused += o.refused
	c.wouldWait += o.wouldWait
	c.wouldRefuse += o.wouldRefuse
	c.overflowed += o.overflowed
	c.evicted += o.evicted
	c.keys += o.keys
}

// pinnedBucket is a bucket with its own mutex: the single bucket of an unpartitioned scope, or a
// rule's overflow bucket. Pinned buckets are never evicted; their number is bounded by the number
// of distinct (service, operation, region) routes, which is capped (see maxRoutes).
type pinnedBucket struct {
	mu       sync.Mutex
	overflow bool        // this is a rule's overflow bucket
	used     atomic.Bool // an overflow bucket that has been charged
	b        bucket
	c        counters
}

func newPinnedBucket(r *crule) *pinnedBucket {
	p := &pinnedBucket{}
	p.b.init(r.limit, r.Burst)
	return p
}
