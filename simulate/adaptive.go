package simulate

import (
	"math"
	"time"

	"github.com/tollgate/tollgate/backoff"
)

// SDKAdaptive is the AWS SDK for Go v2's adaptive retry mode (v1.48): the standard mode
// (SDKStandard, the real backoff code) plus a client-side CUBIC rate limiter per client,
// written from its source (aws-sdk-go-v2 v1.48.0 aws/retry/adaptive.go, adaptive_ratelimit.go,
// adaptive_token_bucket.go). The limiter is off until the client's first throttle; every
// attempt, retries included, then takes one token from a bucket refilled at the CUBIC rate,
// sleeping (1-available)/fillRate and trying again when it is empty.
type SDKAdaptive struct {
	MaxAttempts int // 0: 3
}

// Name returns "sdk-adaptive".
func (s *SDKAdaptive) Name() string { return "sdk-adaptive" }

// NewClient returns one SDK client's adaptive retryer: its own quota and its own rate limiter.
func (s *SDKAdaptive) NewClient(env ClientEnv) Client {
	std := &policyClient{policy: &backoff.Policy{MaxAttempts: s.MaxAttempts, Backoff: sdkBackoff, Budget: sdkQuota()}, rng: env.Rand}
	return &adaptiveClient{std: std, rate: newCubicLimiter()}
}

type adaptiveClient struct {
	std  *policyClient
	rate *CubicLimiter
}

func (a *adaptiveClient) Start(now time.Time, c *Call) {
	a.std.Start(now, c)
	c.Held = false
}

func (a *adaptiveClient) Admit(now time.Time, c *Call) Admission {
	if c.Held {
		c.Held = false
		a.rate.sleepers--
	}
	if ok, wait := a.rate.Acquire(now); !ok {
		c.Held = true
		a.rate.sleepers++
		return Admission{Wait: wait}
	}
	return Admission{}
}

func (a *adaptiveClient) Abandon(_ time.Time, c *Call) {
	if c.Held {
		c.Held = false
		a.rate.sleepers--
	}
}

func (a *adaptiveClient) Finish(now time.Time, c *Call, s backoff.Signal) Decision {
	throttled := s != (backoff.Signal{}) && a.std.classes.classify(a.std.policy, s) == backoff.Throttle
	a.rate.Update(now, throttled)
	return a.std.Finish(now, c, s)
}

// CUBIC constants of the SDK's adaptive rate limiter (aws/retry/adaptive_ratelimit.go).
const (
	cubicSmooth   = 0.8
	cubicBeta     = 0.7
	cubicScale    = 0.4
	cubicMinFill  = 0.5
	cubicMinCap   = 1.0
	cubicBucketHz = 2 // measured-rate buckets per second (0.5 s)
)

// CubicLimiter is the SDK's adaptive client rate limiter: a token bucket whose fill rate follows
// CUBIC (multiplicative decrease by beta on a throttle, cubic growth back towards the last
// maximum rate afterwards), bounded by twice the measured rate of completed attempts. It is
// disabled — admits everything — until the first throttle. Times are virtual.
//
// One deviation, in how blocked attempts are woken, not in the rate: in the SDK every blocked
// goroutine sleeps (1-available)/fillRate on its own and they race for the next token (a
// thundering herd whose simulation would cost quadratic time). Here the k-th sleeper is told
// to sleep (k-available)/fillRate, so sleepers wake in turn as tokens arrive. Tokens are handed
// out at the same fill rate either way.
type CubicLimiter struct {
	enabled  bool
	sleepers int // attempts sleeping until a token may be available

	// token bucket
	tokens, capacity float64
	lastRefill       time.Time

	fillRate       float64
	calculatedRate float64
	lastMaxRate    float64
	lastThrottle   time.Time
	timeWindow     float64

	measuredRate float64
	lastBucket   float64 // start of the last measured-rate bucket, in seconds
	count        int
	started      bool
}

func newCubicLimiter() *CubicLimiter {
	return &CubicLimiter{capacity: 0}
}

// seconds expresses t as seconds (the SDK uses Unix time; only differences and 0.5 s bucket
// boundaries matter, and the simulator's epoch is whole seconds).
func seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func (l *CubicLimiter) start(now time.Time) {
	if l.started {
		return
	}
	l.started = true
	l.lastBucket = math.Floor(seconds(now)*cubicBucketHz) / cubicBucketHz
	l.lastThrottle = now
}

// Enabled reports whether the limiter has seen a throttle.
func (l *CubicLimiter) Enabled() bool { return l.enabled }

// FillRate returns the current fill rate in tokens per second.
func (l *CubicLimiter) FillRate() float64 { return l.fillRate }

// Acquire takes one token at now. When the bucket is empty it reports false and how long to
// wait before trying again: (1-available)/fillRate in the SDK, (1+sleepers-available)/fillRate
// here (see the type's documentation).
func (l *CubicLimiter) Acquire(now time.Time) (bool, time.Duration) {
	l.start(now)
	if !l.enabled {
		return true, 0
	}
	l.refill(now)
	if l.tokens >= 1 {
		l.tokens--
		return true, 0
	}
	wait := time.Duration((float64(1+l.sleepers) - l.tokens) / l.fillRate * float64(time.Second))
	if wait <= 0 {
		wait = time.Nanosecond
	}
	return false, wait
}

func (l *CubicLimiter) refill(now time.Time) {
	if l.lastRefill.IsZero() {
		l.lastRefill = now
		return
	}
	l.tokens = math.Min(l.tokens+now.Sub(l.lastRefill).Seconds()*l.fillRate, l.capacity)
	l.lastRefill = now
}

// Update records that an attempt completed at now, throttled or not.
func (l *CubicLimiter) Update(now time.Time, throttled bool) {
	l.start(now)
	// Measured rate of completed attempts, in 0.5 s buckets, smoothed.
	bucket := math.Floor(seconds(now)*cubicBucketHz) / cubicBucketHz
	l.count++
	if bucket > l.lastBucket {
		rate := float64(l.count) / (bucket - l.lastBucket)
		l.measuredRate = rate*cubicSmooth + l.measuredRate*(1-cubicSmooth)
		l.count = 0
		l.lastBucket = bucket
	}
	if throttled {
		rateToUse := l.measuredRate
		if l.enabled {
			rateToUse = math.Min(l.measuredRate, l.fillRate)
		}
		l.lastMaxRate = rateToUse
		l.timeWindow = math.Cbrt(l.lastMaxRate * (1 - cubicBeta) / cubicScale)
		l.lastThrottle = now
		l.calculatedRate = rateToUse * cubicBeta
		l.enabled = true
	} else {
		l.timeWindow = math.Cbrt(l.lastMaxRate * (1 - cubicBeta) / cubicScale)
		dt := now.Sub(l.lastThrottle).Seconds() - l.timeWindow
		l.calculatedRate = cubicScale*dt*dt*dt + l.lastMaxRate
	}
	newRate := math.Min(l.calculatedRate, 2*l.measuredRate)
	l.refill(now)
	l.fillRate = math.Max(newRate, cubicMinFill)
	l.capacity = math.Max(newRate, cubicMinCap)
	l.tokens = math.Min(l.tokens, l.capacity)
}
