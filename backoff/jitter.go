package backoff

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Jitter selects how a delay is drawn from the exponential ceiling v = min(cap, base·2^i).
type Jitter uint8

const (
	// FullJitter draws U[0, v). The default: it spreads retries the most and does the least work
	// (Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015).
	FullJitter Jitter = iota
	// EqualJitter draws v/2 + U[0, v/2): never shorter than half the ceiling.
	EqualJitter
	// DecorrelatedJitter draws U[base, min(cap, 3·prev)), where prev is the previous delay of the
	// same call (base before the first retry). The interval is capped before drawing, so a delay
	// never exceeds the cap and never sits exactly on it.
	DecorrelatedJitter
	// NoJitter returns v itself. Kept for comparisons only: clients that fail together retry
	// together.
	NoJitter
)

var jitterNames = [...]string{"full", "equal", "decorrelated", "none"}

// String returns "full", "equal", "decorrelated" or "none".
func (j Jitter) String() string {
	if int(j) < len(jitterNames) {
		return jitterNames[j]
	}
	return fmt.Sprintf("Jitter(%d)", uint8(j))
}

// ParseJitter is the inverse of Jitter.String.
func ParseJitter(s string) (Jitter, error) {
	for i, n := range jitterNames {
		if n == s {
			return Jitter(i), nil
		}
	}
	return 0, fmt.Errorf("backoff: unknown jitter %q (want full, equal, decorrelated or none)", s)
}

// Jitters lists every jitter kind.
func Jitters() []Jitter { return []Jitter{FullJitter, EqualJitter, DecorrelatedJitter, NoJitter} }

// Default bases and cap: the AWS SDKs' "retry behaviour 2.1" (aws-sdk-go-v2 v1.48 standard mode).
const (
	DefaultThrottleBase  = time.Second
	DefaultTransientBase = 50 * time.Millisecond
	DefaultCap           = 20 * time.Second
)

// Backoff computes retry delays. The zero value is usable: a zero field takes its default
// (full jitter, throttle base 1 s, transient base 50 ms, cap 20 s). Backoff holds no state; the
// one piece of per-call state decorrelated jitter needs (the previous delay) is passed in.
type Backoff struct {
	Jitter        Jitter
	ThrottleBase  time.Duration // base for Throttle; default 1 s
	TransientBase time.Duration // base for Transient and Timeout; default 50 ms
	Cap           time.Duration // largest ceiling; default 20 s
}

// Validate reports a configuration that cannot produce sensible delays.
func (b Backoff) Validate() error {
	if b.Jitter > NoJitter {
		return fmt.Errorf("backoff: unknown jitter %d", b.Jitter)
	}
	if b.ThrottleBase < 0 || b.TransientBase < 0 || b.Cap < 0 {
		return fmt.Errorf("backoff: bases and cap must not be negative (throttle %v, transient %v, cap %v)",
			b.ThrottleBase, b.TransientBase, b.Cap)
	}
	return nil
}

// Base returns the base delay for class: the throttle base for Throttle, the transient base
// otherwise.
func (b Backoff) Base(class Class) time.Duration {
	if class == Throttle {
		if b.ThrottleBase > 0 {
			return b.ThrottleBase
		}
		return DefaultThrottleBase
	}
	if b.TransientBase > 0 {
		return b.TransientBase
	}
	return DefaultTransientBase
}

func (b Backoff) cap() time.Duration {
	if b.Cap > 0 {
		return b.Cap
	}
	return DefaultCap
}

// Ceiling returns v = min(cap, base·2^retry) for class, where retry is the 0-based index of the
// retry being scheduled (0 for the delay before the second attempt). It never overflows.
func (b Backoff) Ceiling(class Class, retry int) time.Duration {
	base, limit := b.Base(class), b.cap()
	if base >= limit {
		return limit
	}
	if retry < 0 {
		retry = 0
	}
	// base < limit, so shifting until base<<retry ≥ limit stops well before overflow.
	if retry >= 62 || base > limit>>uint(retry) {
		return limit
	}
	return base << uint(retry)
}

// Delay draws the delay before retry number retry (0-based) of a call whose last attempt failed
// with class. prev is the previous delay this call drew (0 before the first retry); only
// DecorrelatedJitter uses it. r supplies all randomness, so a seeded r gives a reproducible
// sequence; Delay never allocates.
//
// Bounds, with v = Ceiling(class, retry) and base = Base(class):
//
//	FullJitter          0 ≤ d < v
//	EqualJitter         v/2 ≤ d < v
//	DecorrelatedJitter  base ≤ d < min(cap, 3·max(prev, base))   (d = cap only if base ≥ cap)
//	NoJitter            d = v
func (b Backoff) Delay(r *rand.Rand, class Class, retry int, prev time.Duration) time.Duration {
	switch b.Jitter {
	case NoJitter:
		return b.Ceiling(class, retry)
	case EqualJitter:
		v := b.Ceiling(class, retry)
		half := v / 2
		return half + uniform(r, v-half)
	case DecorrelatedJitter:
		base, limit := b.Base(class), b.cap()
		if base >= limit {
			return limit
		}
		if prev < base {
			prev = base
		}
		upper := limit
		if prev < limit/3 {
			upper = 3 * prev
		}
		return base + uniform(r, upper-base)
	default:
		return uniform(r, b.Ceiling(class, retry))
	}
}

// uniform draws U[0, n) nanoseconds; 0 when n ≤ 0.
func uniform(r *rand.Rand, n time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	return time.Duration(r.Int64N(int64(n)))
}
