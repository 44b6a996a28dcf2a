package simulate

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/tollgate/tollgate/backoff"
)

// SDKLegacy is the AWS SDK for Go v2's standard retry mode before "retry behaviour 2.1" (up to
// v1.41, and up to v1.47 without AWS_NEW_RETRIES_2026), written from its specification
// (aws-sdk-go-v2 v1.41 aws/retry/standard.go, jitter_backoff.go and aws/ratelimit) because the
// backoff package deliberately does not implement it:
//
//   - delay after failed attempt n (1-based) = b·2^n seconds, b uniform on [0,1), for throttles
//     and transient errors alike; once n > int(log2(MaxBackoff/1s)) (4 for 20 s) the delay is
//     exactly MaxBackoff, without jitter;
//   - a retry quota of 500 tokens per client, 5 per retry (10 after a timeout), refunded when
//     the retry succeeds, and +1 on every successful attempt;
//   - 3 attempts.
//
// Errors are classified by the backoff package's classifier (the same 14 throttle codes).
type SDKLegacy struct {
	MaxAttempts int // 0: 3
}

// Legacy-mode constants (aws-sdk-go-v2 v1.41 aws/retry and aws/ratelimit).
const (
	legacyQuota       = 500
	legacyRetryCost   = 5
	legacyTimeoutCost = 10
	legacyIncrement   = 1
	legacyMaxBackoff  = 20 * time.Second
)

// Name returns "sdk-legacy".
func (s *SDKLegacy) Name() string { return "sdk-legacy" }

// NewClient returns one SDK client's legacy retryer, with its own quota.
func (s *SDKLegacy) NewClient(env ClientEnv) Client {
	max := s.MaxAttempts
	if max == 0 {
		max = backoff.DefaultMaxAttempts
	}
	return &legacyClient{maxAttempts: max, available: legacyQuota, rng: env.Rand,
		classifier: backoff.DefaultClassifier(),
		capExp:     int(math.Log2(float64(legacyMaxBackoff / time.Second)))}
}

type legacyClient struct {
	maxAttempts int
	available   int
	capExp      int
	rng         *rand.Rand
	classifier  *backoff.Classifier
}

func (l *legacyClient) Start(_ time.Time, c *Call) { c.Cost = 0 }

func (l *legacyClient) Admit(time.Time, *Call) Admission { return Admission{} }

func (l *legacyClient) Abandon(time.Time, *Call) {}

// Delay returns the legacy delay after failed attempt n (1-based).
func (l *legacyClient) delay(n int) time.Duration {
	if n > l.capExp {
		return legacyMaxBackoff
	}
	return time.Duration(l.rng.Float64() * float64(time.Duration(1<<uint(n))*time.Second))
}

func (l *legacyClient) Finish(_ time.Time, c *Call, s backoff.Signal) Decision {
	level := func(d Decision) Decision {
		d.Budget, d.Level, d.Capacity = "aws-retry-quota", float64(l.available), legacyQuota
		return d
	}
	if s == (backoff.Signal{}) {
		// A successful retry gives its token back; every successful attempt adds the increment.
		l.available = min(l.available+c.Cost+legacyIncrement, legacyQuota)
		c.Cost = 0
		return level(Decision{Class: backoff.Success, Stop: "success"})
	}
	class := l.classifier.Classify(s)
	c.Cost = 0 // a failed retry keeps its token
	switch {
	case !class.Retryable():
		return level(Decision{Class: class, Stop: backoff.StopNonRetryable.String()})
	case l.maxAttempts > 0 && c.Attempt >= l.maxAttempts:
		return level(Decision{Class: class, Stop: backoff.StopMaxAttempts.String()})
	}
	cost := legacyRetryCost
	if class == backoff.Timeout {
		cost = legacyTimeoutCost
	}
	if l.available < cost {
		return level(Decision{Class: class, Stop: backoff.StopBudget.String(), ClientSide: true})
	}
	l.available -= cost
	c.Cost = cost
	return level(Decision{Class: class, Retry: true, Delay: l.delay(c.Attempt)})
}
