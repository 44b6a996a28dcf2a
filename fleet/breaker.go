package fleet

import "time"

// Breaker settings, unless Options say otherwise.
const (
	DefaultTimeout          = 50 * time.Millisecond
	DefaultFailureThreshold = 3
	DefaultCooldown         = 250 * time.Millisecond
	DefaultMaxCooldown      = 5 * time.Second
)

// breaker is a circuit breaker for one bucket's store calls, pure like Account: closed, it lets
// every renewal through; after threshold consecutive failures it opens for a cooldown (doubling
// on every failed probe, up to maxCooldown), then lets one probe through (half-open); a success
// closes it. While it is open no call touches the store, so a dead Redis costs nothing but the
// fallback.
type breaker struct {
	threshold   int
	cooldown    time.Duration
	maxCooldown time.Duration

	failures  int
	open      bool
	openUntil time.Time
	wait      time.Duration // the current cooldown
	probing   bool
	since     time.Time // when it last opened from closed
}

// allow reports whether a store call may start at now (and, half-open, takes the one probe).
func (b *breaker) allow(now time.Time) bool {
	if !b.open {
		return true
	}
	if now.Before(b.openUntil) || b.probing {
		return false
	}
	b.probing = true
	return true
}

// success records a store call that answered; it reports whether the breaker was open.
func (b *breaker) success() (wasOpen bool) {
	wasOpen = b.open
	b.failures, b.open, b.probing, b.wait = 0, false, false, 0
	return wasOpen
}

// failure records a store call that failed at now; it reports whether the breaker opened now.
func (b *breaker) failure(now time.Time) (opened bool) {
	b.failures++
	if b.open {
		// A failed probe: stay open, longer.
		b.probing = false
		b.wait = min(2*b.wait, b.maxCooldown)
		b.openUntil = now.Add(b.wait)
		return false
	}
	if b.failures < b.threshold {
		return false
	}
	b.open, b.probing, b.wait, b.since = true, false, b.cooldown, now
	b.openUntil = now.Add(b.wait)
	return true
}
