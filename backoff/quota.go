package backoff

import (
	"sync"
	"time"
)

// TokenQuota is the AWS SDKs' retry quota ("retry behaviour 2.1"): a bucket of tokens that starts
// full; a retry costs ThrottleCost after a throttle and TransientCost after a transient error or
// timeout; a retry that succeeds gives its cost back; a first attempt that succeeds adds
// SuccessIncrement (up to Capacity). There is no refill with time: a client whose retries keep
// failing stops retrying until first attempts succeed again.
//
// Unlike the SDK's quota, a refusal here is reported by the Policy as a *RetryRefusedError that
// says plainly it is a client-side decision, not an answer from AWS.
type TokenQuota struct {
	cfg TokenQuotaConfig

	mu        sync.Mutex
	available int
}

// TokenQuotaConfig holds TokenQuota's parameters. A zero field takes the SDK default.
type TokenQuotaConfig struct {
	Capacity         int // default 500
	ThrottleCost     int // default 5
	TransientCost    int // default 14 (also used for Timeout)
	SuccessIncrement int // default 1
}

// SDK defaults for TokenQuota (aws-sdk-go-v2 v1.48 aws/retry).
const (
	DefaultQuotaCapacity         = 500
	DefaultQuotaThrottleCost     = 5
	DefaultQuotaTransientCost    = 14
	DefaultQuotaSuccessIncrement = 1
)

// NewTokenQuota returns a full TokenQuota.
func NewTokenQuota(cfg TokenQuotaConfig) *TokenQuota {
	if cfg.Capacity <= 0 {
		cfg.Capacity = DefaultQuotaCapacity
	}
	if cfg.ThrottleCost <= 0 {
		cfg.ThrottleCost = DefaultQuotaThrottleCost
	}
	if cfg.TransientCost <= 0 {
		cfg.TransientCost = DefaultQuotaTransientCost
	}
	if cfg.SuccessIncrement <= 0 {
		cfg.SuccessIncrement = DefaultQuotaSuccessIncrement
	}
	return &TokenQuota{cfg: cfg, available: cfg.Capacity}
}

// Name returns "aws-retry-quota".
func (q *TokenQuota) Name() string { return "aws-retry-quota" }

// OnRequest does nothing: the quota charges retries only.
func (q *TokenQuota) OnRequest(time.Time) {}

// Cost returns what a retry after class costs.
func (q *TokenQuota) Cost(class Class) int {
	if class == Throttle {
		return q.cfg.ThrottleCost
	}
	return q.cfg.TransientCost
}

// RetryCost returns Cost(class) as a float64; the Policy uses it to report what a refused
// retry needed.
func (q *TokenQuota) RetryCost(class Class) float64 { return float64(q.Cost(class)) }

// AcquireRetry takes Cost(class) tokens if that many are left.
func (q *TokenQuota) AcquireRetry(_ time.Time, class Class) (Spend, bool) {
	cost := q.Cost(class)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.available < cost {
		return Spend{}, false
	}
	q.available -= cost
	return Spend{Cost: float64(cost), Retry: true}, true
}

// acquireRetryLevel is AcquireRetry followed by Level, under one lock.
func (q *TokenQuota) acquireRetryLevel(class Class) (Spend, bool, Level) {
	cost := q.Cost(class)
	q.mu.Lock()
	defer q.mu.Unlock()
	level := Level{Capacity: float64(q.cfg.Capacity)}
	if q.available < cost {
		level.Available = float64(q.available)
		return Spend{}, false, level
	}
	q.available -= cost
	level.Available = float64(q.available)
	return Spend{Cost: float64(cost), Retry: true}, true, level
}

// OnSuccess refunds a successful retry's cost, or adds SuccessIncrement for a first attempt.
func (q *TokenQuota) OnSuccess(_ time.Time, s Spend) {
	add := q.cfg.SuccessIncrement
	if s.Retry {
		add = int(s.Cost)
	}
	q.mu.Lock()
	q.available = min(q.available+add, q.cfg.Capacity)
	q.mu.Unlock()
}

// Level reports the tokens left.
func (q *TokenQuota) Level(time.Time) Level {
	q.mu.Lock()
	defer q.mu.Unlock()
	return Level{Available: float64(q.available), Capacity: float64(q.cfg.Capacity)}
}
