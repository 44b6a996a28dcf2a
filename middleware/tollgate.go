package middleware

import (
	"math/rand/v2"
	"time"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/limiter"
)

// Config configures a Tollgate. The zero Config retries like the SDK's standard mode (3 attempts,
// full jitter, 1 s throttle base, 50 ms transient base, 20 s cap, the 500-token retry quota) —
// and, like the SDK, with its own defaults for the services whose clients set them (DynamoDB: 4
// attempts, 25 ms transient base; see ServiceRetryDefaults) — with no client-side rate
// limiting; set Limiter to add per-API buckets.
type Config struct {
	// Limiter, if not nil, gates every attempt (retries too) on its API's bucket.
	Limiter *limiter.Limiter

	// Policy is the retry policy. Its MaxAttempts is the maximum attempts of every call (the
	// SDK's RetryMaxAttempts option still overrides it per client or call); 0 means the SDK's
	// default for the call's service. Likewise a zero Backoff.TransientBase means the service's
	// SDK default. A nil Policy.Budget gets the SDK's token quota unless NoBudget is set. The
	// SDK's own retry quota is never used: one budget, tollgate's.
	Policy   backoff.Policy
	NoBudget bool

	// Partitioners find the partition (S3 bucket and key prefix, DynamoDB table, ...) of an
	// input. They are consulted in order before the built-in ones; the first non-zero answer wins.
	Partitioners []Partitioner
	// PrefixScheme turns S3 keys into partition prefixes for the built-in partitioner; the zero
	// value means DefaultPrefixScheme (the first path segment).
	PrefixScheme PrefixScheme

	// Observer receives tollgate's events (see package event). nil costs nothing.
	Observer event.Observer

	// Seed seeds the jitter. 0 picks a random seed.
	Seed uint64
	// Clock returns the current time; nil means time.Now. Waiting uses real timers either way
	// (testing/synctest makes them virtual in tests).
	Clock func() time.Time
}

// Tollgate holds the state shared by every client it is installed in: the limiter's buckets,
// the retry budget, the jitter source. Make one per process (or per tenant) and install it in
// every client; it is safe for concurrent use.
type Tollgate struct {
	limiter      *limiter.Limiter
	policy       backoff.Policy // MaxAttempts -1: attempts are counted by the caller of the policy
	maxAttempts  int
	services     map[string]*servicePolicy // services with their own SDK defaults
	anyService   servicePolicy             // every other service
	classifier   *backoff.Classifier
	partitioners []Partitioner
	builtin      *builtinPartitioner
	observer     event.Observer
	rng          *rand.Rand
	clock        func() time.Time

	initialize *callMiddleware
	attempt    *attemptMiddleware
}

// New returns a Tollgate built from cfg.
func New(cfg Config) (*Tollgate, error) {
	if err := cfg.Policy.Backoff.Validate(); err != nil {
		return nil, err
	}
	t := &Tollgate{
		limiter:      cfg.Limiter,
		policy:       cfg.Policy,
		partitioners: cfg.Partitioners,
		observer:     cfg.Observer,
		clock:        cfg.Clock,
	}
	if t.clock == nil {
		t.clock = time.Now
	}
	if t.policy.Budget == nil && !cfg.NoBudget {
		t.policy.Budget = backoff.NewTokenQuota(backoff.TokenQuotaConfig{})
	}
	t.classifier = t.policy.Classifier
	if t.classifier == nil {
		t.classifier = backoff.DefaultClassifier()
	}
	t.maxAttempts = t.policy.MaxAttempts
	if t.maxAttempts == 0 {
		t.maxAttempts = backoff.DefaultMaxAttempts
	}
	// Attempts are counted per call, against the call's service's maximum (see servicePolicy);
	// the policy decides everything else.
	t.policy.MaxAttempts = -1
	t.anyService = servicePolicy{policy: t.policy, maxAttempts: t.maxAttempts}
	t.services = make(map[string]*servicePolicy, len(serviceRetryDefaults))
	for _, d := range serviceRetryDefaults {
		sp := &servicePolicy{policy: t.policy, maxAttempts: t.maxAttempts}
		if cfg.Policy.MaxAttempts == 0 {
			sp.maxAttempts = d.MaxAttempts
		}
		if cfg.Policy.Backoff.TransientBase == 0 {
			sp.policy.Backoff.TransientBase = d.TransientBase
		}
		t.services[d.Service] = sp
	}
	scheme := cfg.PrefixScheme
	if scheme == (PrefixScheme{}) {
		scheme = DefaultPrefixScheme
	}
	t.builtin = &builtinPartitioner{scheme: scheme}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.rng = newLockedRand(seed)
	t.initialize = &callMiddleware{t: t}
	t.attempt = &attemptMiddleware{t: t}
	return t, nil
}

// Limiter returns the limiter the Tollgate gates attempts on, or nil.
func (t *Tollgate) Limiter() *limiter.Limiter { return t.limiter }

// Budget returns the retry budget, or nil.
func (t *Tollgate) Budget() backoff.Budget { return t.policy.Budget }

func (t *Tollgate) partition(service, operation string, input any) Partition {
	for _, p := range t.partitioners {
		if part := p(service, operation, input); part != (Partition{}) {
			return part
		}
	}
	return t.builtin.partition(service, operation, input)
}

// servicePolicy is how one service's calls are retried: the policy (the Tollgate's, with the
// service's SDK default transient base) and the maximum attempts per call.
type servicePolicy struct {
	policy      backoff.Policy // MaxAttempts -1: attempts are counted against maxAttempts
	maxAttempts int            // ≤ 0: no bound
}

// servicePolicy returns the retry policy of service's calls (an SDK service ID).
func (t *Tollgate) servicePolicy(service string) *servicePolicy {
	if sp, ok := t.services[service]; ok {
		return sp
	}
	return &t.anyService
}

func (t *Tollgate) emit(e event.Event) {
	if t.observer != nil {
		t.observer.Observe(e)
	}
}
