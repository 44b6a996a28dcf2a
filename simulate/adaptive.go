package simulate

import (
	"math"
	"time"

	"github.com/tollgate/tollgate/backoff"
)

// SDKAdaptive is the AWS SDK for Go v2's adaptive retry mode (v1.48, aws/retry/adaptive.go):
// the standard mode (SDKStandard, the real backoff code) plus a client-side CUBIC rate limiter
// per client (CubicLimiter), written from the SDK's source with its arithmetic. The limiter is
// off until the client's first throttle; every attempt, retries included, then takes one token
// from a bucket refilled at the CUBIC rate. An attempt that finds the bucket empty sleeps
// (1-available)/fillRate and tries again, as every other sleeping attempt of the client does:
// the engine wakes the attempts that sleep until the same instant together and lets them race
// for the tokens (Admission.Shared). TestSDKAdaptiveEqualsSDK proves the decisions equal to
// the real retryer's.
//
// WakeQuantum is the resolution of the clock the SDK's sleepers wake by. On an exact clock (0,
// a testing/synctest bubble) a sleeper wakes at the nanosecond it computed, and one that
// computed an instant a nanosecond earlier — a newer sleeper, whose wait the SDK truncates to
// the nanosecond below — wakes alone and wins the token: the newest are served first. A real
// clock wakes sleepers whose instants lie that close together in an order its timers and
// scheduler decide, and they race: WakeQuantum > 0 rounds every sleeper's wake-up instant up
// to a multiple of it, so that sleepers within one quantum wake together and race in a random
// order. NewStrategy's sdk-adaptive uses RealClockWake.
type SDKAdaptive struct {
	MaxAttempts int // 0: 3
	WakeQuantum time.Duration
}

// RealClockWake is the wake-up resolution NewStrategy gives sdk-adaptive: sleepers whose
// computed instants lie within the same 100 µs wake together, as a busy machine's timers wake
// them. Measured with `tollgate-live calibrate` (real SDK clients against the emulator, 3
// seeds): on calibrate-closed, calls failed 13 in the real runs, 23 in the simulator with an
// exact clock, 13 with 100 µs, 8 with 1 ms; on calibrate-s3, p50 of successful calls 1.9 s
// real, 0.19 s exact, 1.3 s with 100 µs, 1.6 s with 1 ms.
const RealClockWake = 100 * time.Microsecond

// Name returns "sdk-adaptive".
func (s *SDKAdaptive) Name() string { return "sdk-adaptive" }

// NewClient returns one SDK client's adaptive retryer: its own quota and its own rate limiter,
// whose clocks start when the client is made (env.Created), as NewAdaptiveMode's do.
func (s *SDKAdaptive) NewClient(env ClientEnv) Client {
	std := &policyClient{policy: &backoff.Policy{MaxAttempts: s.MaxAttempts, Backoff: sdkBackoff, Budget: sdkQuota()}, rng: env.Rand, sdkOrder: true}
	return &adaptiveClient{std: std, rate: NewCubicLimiter(env.Created), quantum: s.WakeQuantum}
}

type adaptiveClient struct {
	std     *policyClient
	rate    *CubicLimiter
	quantum time.Duration
}

func (a *adaptiveClient) Start(now time.Time, c *Call) { a.std.Start(now, c) }

// Admit is GetAttemptToken: take a token, or sleep the SDK's wait and try again. The wait is
// the same for every attempt of the client that is refused now (it depends on the bucket
// only), so it is Shared.
func (a *adaptiveClient) Admit(now time.Time, c *Call) Admission {
	if ok, wait := a.rate.Acquire(now); !ok {
		if q := a.quantum; q > 0 {
			// Wake at the end of the quantum the instant falls in (never earlier).
			at := now.Add(wait)
			if r := at.Truncate(q); r.Before(at) {
				at = r.Add(q)
			}
			wait = at.Sub(now)
		}
		return Admission{Wait: wait, Shared: true}
	}
	return Admission{}
}

// Abandon: a sleeping attempt holds nothing (the SDK's sleeper is cancelled by its context).
func (a *adaptiveClient) Abandon(time.Time, *Call) {}

// Finish is the attempt token's release (the rate limiter's Update with the attempt's error)
// followed by the standard retryer's decision, in the Attempt middleware's order.
func (a *adaptiveClient) Finish(now time.Time, c *Call, s backoff.Signal) Decision {
	throttled := s != (backoff.Signal{}) && a.std.classes.classify(a.std.policy, s) == backoff.Throttle
	a.rate.Update(now, throttled)
	return a.std.Finish(now, c, s)
}

// CUBIC parameters of the SDK's adaptive rate limiter (aws/retry/adaptive_ratelimit.go). They
// are variables, as the SDK's are (fields of adaptiveRateLimit): 1-smooth and 1-beta must be
// computed in float64 at run time, as the SDK computes them, not exactly at compile time.
var (
	cubicSmooth  = 0.8
	cubicBeta    = 0.7
	cubicScale   = 0.4
	cubicMinFill = 0.5
	cubicMinCap  = 1.0 // adaptiveTokenBucket's minCapacity
)

// CubicLimiter is the SDK's adaptive client rate limiter (adaptiveRateLimit and its
// adaptiveTokenBucket): a token bucket whose fill rate follows CUBIC (multiplicative decrease
// by beta on a throttle, cubic growth back towards the last maximum rate afterwards), bounded by
// twice the measured rate of completed attempts. It is disabled — admits everything — until the
// first throttle. Every operation is the SDK's, with the same floating-point expressions (so
// that the same times give the same bits) and the same truncation of waits to nanoseconds.
// Times are virtual; it is not safe for concurrent use.
type CubicLimiter struct {
	enabled bool

	// adaptiveTokenBucket: starts at capacity 0, minimum capacity 1 once resized
	tokens, capacity float64
	lastRefill       time.Time

	fillRate       float64
	calculatedRate float64
	lastMaxRate    float64
	lastThrottle   time.Time
	timeWindow     float64

	measuredRate float64
	lastBucket   float64 // start of the last measured-rate bucket, in Unix seconds
	count        int64
}

// NewCubicLimiter returns the limiter of a client made at created: newAdaptiveRateLimit starts
// the measured rate's first bucket at the whole second of its creation and counts the time
// since the last throttle from it.
func NewCubicLimiter(created time.Time) *CubicLimiter {
	return &CubicLimiter{lastBucket: math.Floor(unixSeconds(created)), lastThrottle: created}
}

// unixSeconds is the SDK's timeFloat64Seconds: Unix time in seconds, as one float division.
func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / float64(time.Second) }

// floatSeconds is the SDK's secondsFloat64.
func floatSeconds(d time.Duration) float64 { return float64(d) / float64(time.Second) }

// Enabled reports whether the limiter has seen a throttle.
func (l *CubicLimiter) Enabled() bool { return l.enabled }

// FillRate returns the current fill rate in tokens per second.
func (l *CubicLimiter) FillRate() float64 { return l.fillRate }

// MeasuredRate returns the smoothed rate of completed attempts, per second.
func (l *CubicLimiter) MeasuredRate() float64 { return l.measuredRate }

// Tokens returns the tokens in the bucket after its last refill, and its capacity.
func (l *CubicLimiter) Tokens() (tokens, capacity float64) { return l.tokens, l.capacity }

// Acquire is AcquireToken(1) at now: it takes a token, or reports false and how long to sleep
// before trying again, (1-available)/fillRate truncated to nanoseconds — and at least 1 ns.
//
// The SDK asks for a sleep of 0 ns when the bucket is less than fillRate·1e-9 tokens short of
// one, which follows almost every sleep (the truncation leaves it just short). It then loops at
// once: a real clock has moved on by then (and is moving on while it loops), so it gets its token
// within a microsecond. A virtual clock does not move on its own: the loop would spin for ever.
// Here the wait is 1 ns, the least a clock can move.
func (l *CubicLimiter) Acquire(now time.Time) (bool, time.Duration) {
	if !l.enabled {
		return true, 0
	}
	l.refill(now)
	if 1 > l.tokens {
		return false, max(time.Duration((1-l.tokens)/l.fillRate*float64(time.Second)), time.Nanosecond)
	}
	l.tokens--
	return true, 0
}

// refill is tokenBucketRefill: the first call only starts the clock.
func (l *CubicLimiter) refill(now time.Time) {
	if l.lastRefill.IsZero() {
		l.lastRefill = now
		return
	}
	l.tokens = math.Min(l.tokens+floatSeconds(now.Sub(l.lastRefill))*l.fillRate, l.capacity)
	l.lastRefill = now
}

// Update is the SDK's Update: an attempt completed at now, throttled or not.
func (l *CubicLimiter) Update(now time.Time, throttled bool) {
	// updateMeasuredRate: completed attempts in 0.5 s buckets, smoothed.
	bucket := math.Floor(unixSeconds(now)*2.) / 2.
	l.count++
	if bucket > l.lastBucket {
		rate := float64(l.count) / (bucket - l.lastBucket)
		l.measuredRate = (rate * cubicSmooth) + (l.measuredRate * (1. - cubicSmooth))
		l.count = 0
		l.lastBucket = bucket
	}
	if throttled {
		rateToUse := l.measuredRate
		if l.enabled {
			rateToUse = math.Min(l.measuredRate, l.fillRate)
		}
		l.lastMaxRate = rateToUse
		l.timeWindow = math.Pow((l.lastMaxRate*(1.-cubicBeta))/cubicScale, 1./3.)
		l.lastThrottle = now
		l.calculatedRate = rateToUse * cubicBeta
		l.enabled = true
	} else {
		l.timeWindow = math.Pow((l.lastMaxRate*(1.-cubicBeta))/cubicScale, 1./3.)
		dt := floatSeconds(now.Sub(l.lastThrottle))
		l.calculatedRate = (cubicScale * math.Pow(dt-l.timeWindow, 3)) + l.lastMaxRate
	}
	newRate := math.Min(l.calculatedRate, 2*l.measuredRate)
	// tokenBucketUpdateRate: refill at the old rate, then resize.
	l.refill(now)
	l.fillRate = math.Max(newRate, cubicMinFill)
	l.capacity = math.Max(newRate, cubicMinCap)
	l.tokens = math.Min(l.tokens, l.capacity)
}
