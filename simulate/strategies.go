package simulate

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/limiter"
)

// sdkBackoff is the AWS SDK for Go v2's standard-mode backoff ("retry behaviour 2.1", v1.48):
// full jitter, 1 s base for throttles, 50 ms otherwise, 20 s cap.
var sdkBackoff = backoff.Backoff{
	Jitter:        backoff.FullJitter,
	ThrottleBase:  time.Second,
	TransientBase: 50 * time.Millisecond,
	Cap:           20 * time.Second,
}

// sdkQuota is the SDK's standard retry quota: 500 tokens, 5 per throttle retry, 14 per other
// retry, +1 per first-attempt success, refund on a successful retry.
func sdkQuota() *backoff.TokenQuota {
	return backoff.NewTokenQuota(backoff.TokenQuotaConfig{Capacity: 500, ThrottleCost: 5, TransientCost: 14, SuccessIncrement: 1})
}

// PolicyStrategy retries with a backoff.Policy and no client-side rate limiting. Each client
// process has its own policy state, so the retry quota (when Quota is set) is per client, as the
// SDK's is. The "no-jitter" and "no-retry" baselines are PolicyStrategies.
type PolicyStrategy struct {
	Label       string
	Jitter      backoff.Jitter
	Quota       bool // give each client the SDK's retry quota (500/5/14)
	MaxAttempts int  // 0: 3
}

// Name returns the strategy's label.
func (s *PolicyStrategy) Name() string { return s.Label }

// NewClient returns a client with its own policy (and quota).
func (s *PolicyStrategy) NewClient(env ClientEnv) Client {
	b := sdkBackoff
	b.Jitter = s.Jitter
	p := &backoff.Policy{MaxAttempts: s.MaxAttempts, Backoff: b}
	if s.Quota {
		p.Budget = sdkQuota()
	}
	return &policyClient{policy: p, rng: env.Rand}
}

// policyClient runs a backoff.Policy: the code tollgate's middleware runs.
type policyClient struct {
	policy  *backoff.Policy
	rng     *rand.Rand
	classes classCache
	// sdkOrder asks the retry quota before drawing the delay, as the SDK's Attempt middleware
	// does (GetRetryToken, then RetryDelay): a retry the quota refuses draws nothing. The
	// policy draws first (it needs the delay to check the call's deadline); the decisions are
	// the same, but the order of draws is the SDK's only this way.
	sdkOrder bool
}

// classCache remembers the classes a policy gave the last two signals it classified. A client
// sees the same few signals again and again (its services' throttling and error answers, whose
// strings are the same values each time, so that comparing them compares pointers), and a
// Policy's classifier is immutable: the cache answers what Policy.Classify would.
type classCache struct {
	sig   [2]backoff.Signal
	class [2]backoff.Class
	n     int
}

// classify returns p.Classify(s).
func (cc *classCache) classify(p *backoff.Policy, s backoff.Signal) backoff.Class {
	if cc.n > 0 && s == cc.sig[0] {
		return cc.class[0]
	}
	if cc.n > 1 && s == cc.sig[1] {
		return cc.class[1]
	}
	c := p.Classify(s)
	cc.sig[1], cc.class[1] = cc.sig[0], cc.class[0]
	cc.sig[0], cc.class[0] = s, c
	cc.n = min(cc.n+1, 2)
	return c
}

func (p *policyClient) Start(now time.Time, c *Call) {
	// The SDK does not look at the call's deadline before sleeping (it sleeps and is then
	// cancelled): the engine ends calls at their deadline, so the policy gets none.
	c.Policy = p.policy.Start(now, time.Time{})
}

func (p *policyClient) Admit(time.Time, *Call) Admission { return Admission{} }

func (p *policyClient) Abandon(time.Time, *Call) {}

func (p *policyClient) Finish(now time.Time, c *Call, s backoff.Signal) Decision {
	if p.sdkOrder && s != (backoff.Signal{}) {
		if d, refused := quotaRefusal(p.policy, p.classes.classify(p.policy, s), now, c); refused {
			return d
		}
	}
	d := policyFinishHints(p.policy, &p.classes, now, c, s, backoff.Hints{}, p.rng)
	if d.Retry && c.Hints.AmzRetryAfter != "" {
		d.Delay = sdkRetryAfter(d.Delay, c.Hints.AmzRetryAfter)
	}
	return d
}

// sdkRetryAfter is the SDK's retry middleware's adjustForRetryAfterHeader (aws-sdk-go-v2 v1.48
// aws/retry/middleware.go): the backoff raised by an x-amz-retry-after of v milliseconds, clamped
// to [backoff, backoff+5 s]; a value that is not a non-negative integer is ignored. The SDK
// honours no other hint: Retry-After is ignored.
func sdkRetryAfter(backoff time.Duration, v string) time.Duration {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms < 0 {
		return backoff
	}
	h := time.Duration(ms) * time.Millisecond // wraps above 292 years, as the SDK's does
	return min(max(h, backoff), backoff+5*time.Second)
}

// quotaRefusal reports the decision of a policy whose budget is a TokenQuota for a failure of
// class when the quota cannot pay for the retry (the call has attempts left), without drawing
// a delay: the SDK's order (see policyClient.sdkOrder).
func quotaRefusal(p *backoff.Policy, class backoff.Class, now time.Time, c *Call) (Decision, bool) {
	q, ok := p.Budget.(*backoff.TokenQuota)
	if !ok || !class.Retryable() {
		return Decision{}, false
	}
	maxAttempts := p.MaxAttempts
	if maxAttempts == 0 {
		maxAttempts = backoff.DefaultMaxAttempts
	}
	if maxAttempts > 0 && c.Attempt >= maxAttempts {
		return Decision{}, false
	}
	lvl := q.Level(now)
	if lvl.Available >= q.RetryCost(class) {
		return Decision{}, false
	}
	return Decision{Class: class, Stop: backoff.StopBudget.String(), ClientSide: true, Budget: q.Name(),
		Level: lvl.Available, Capacity: lvl.Capacity}, true
}

// policyFinish applies a Policy to an attempt's outcome as tollgate's middleware does:
// Succeeded, or Failed (as FailedAs with the class the policy gives the signal, cached in cc,
// and the server's hints, c.Hints, which the policy honours).
func policyFinish(p *backoff.Policy, cc *classCache, now time.Time, c *Call, s backoff.Signal, rng *rand.Rand) Decision {
	return policyFinishHints(p, cc, now, c, s, c.Hints, rng)
}

// policyFinishHints is policyFinish with the hints the policy is to honour.
func policyFinishHints(p *backoff.Policy, cc *classCache, now time.Time, c *Call, s backoff.Signal, hints backoff.Hints, rng *rand.Rand) Decision {
	if s == (backoff.Signal{}) {
		p.Succeeded(now, &c.Policy)
		return Decision{Class: backoff.Success, Stop: "success"}
	}
	pd := p.FailedAs(now, &c.Policy, cc.classify(p, s), hints, rng)
	d := Decision{Class: pd.Class, Retry: pd.Retry, Delay: pd.Delay, Budget: pd.Budget, Level: pd.Level.Available, Capacity: pd.Level.Capacity}
	if !pd.Retry {
		d.Stop = pd.Stop.String()
		d.ClientSide = pd.Stop.ClientSide()
	}
	return d
}

// SDKStandard is the AWS SDK for Go v2's standard retry mode as of v1.48 ("retry behaviour
// 2.1"), built from the real backoff package: full jitter with a 1 s base for throttles and
// 50 ms otherwise, a 20 s cap, 3 attempts, and a retry quota of 500 tokens per client (5 per
// throttle retry, 14 per other retry, +1 per first-attempt success, refund on a successful
// retry).
type SDKStandard struct {
	MaxAttempts int // 0: 3
}

// Name returns "sdk-standard".
func (s *SDKStandard) Name() string { return "sdk-standard" }

// NewClient returns one SDK client's retryer.
func (s *SDKStandard) NewClient(env ClientEnv) Client {
	return &policyClient{policy: &backoff.Policy{MaxAttempts: s.MaxAttempts, Backoff: sdkBackoff, Budget: sdkQuota()}, rng: env.Rand, sdkOrder: true}
}

// Tollgate is tollgate's own strategy as a real install runs it in each process: the one-line
// install of the README (middleware.New with limiter.New(limiter.DefaultRules())) — the
// limiter built by the same constructor, with the same rules, so whatever that install does
// (published quotas as ceilings, rates learned from AWS's answers) this strategy does — and the
// middleware's default retry policy (full jitter, throttle-aware bases, 3 attempts, the
// token-quota retry budget). Every attempt, retries included, takes its token from its API's
// bucket first, waiting when the bucket says so (and confirming its reservation after the
// wait, as the middleware does) and refusing on the client side when the wait would pass the
// call's deadline. Throttles and successes are fed back to the limiter.
//
// It knows only what a real install knows: the published quotas (or the rules file a user
// gives it, Rules), never the server's true limits. TollgateOracle is the same client handed
// the server's rules.
type Tollgate struct {
	Rules       limiter.Rules // nil: limiter.DefaultRules(), as the one-line install
	MaxAttempts int           // 0: 3
}

// Name returns "tollgate".
func (s *Tollgate) Name() string { return "tollgate" }

// NewClient returns one process's tollgate: its limiter and its policy.
func (s *Tollgate) NewClient(env ClientEnv) Client {
	rules := s.Rules
	if rules == nil {
		// The one-line install: limiter.New(limiter.DefaultRules()).
		return newTollgateClient(limiter.New(limiter.DefaultRules()), s.MaxAttempts, env)
	}
	return newTollgateClient(limiter.New(rules), s.MaxAttempts, env)
}

// TollgateOracle is Tollgate handed the server's true rules (raised quotas, unpublished limits),
// which no real install knows: an upper reference for what tollgate's client could do with
// perfect knowledge of the server's rules as they are at the start of a run. It does not learn
// of capacity changes during the run (server.capacity steps) unless its limiter learns them.
type TollgateOracle struct {
	MaxAttempts int // 0: 3
}

// Name returns "tollgate-oracle".
func (s *TollgateOracle) Name() string { return "tollgate-oracle" }

// NewClient is never called by the engine for an Oracle; it returns the one-line install's
// client, knowing nothing of the server.
func (s *TollgateOracle) NewClient(env ClientEnv) Client {
	return (&Tollgate{MaxAttempts: s.MaxAttempts}).NewClient(env)
}

// NewOracleClient returns one process's tollgate whose limiter has the server's rules.
func (s *TollgateOracle) NewOracleClient(env ClientEnv, server limiter.Rules) Client {
	return newTollgateClient(limiter.New(server), s.MaxAttempts, env)
}

// newTollgateClient returns a client gating attempts on lim with the middleware's default
// policy (middleware.Config's zero Policy: the token-quota budget).
func newTollgateClient(lim *limiter.Limiter, maxAttempts int, env ClientEnv) *tollgateClient {
	return &tollgateClient{
		lim:    lim,
		policy: &backoff.Policy{MaxAttempts: maxAttempts, Budget: backoff.NewTokenQuota(backoff.TokenQuotaConfig{})},
		rng:    env.Rand,
	}
}

type tollgateClient struct {
	lim     *limiter.Limiter
	policy  *backoff.Policy
	rng     *rand.Rand
	classes classCache
}

func (t *tollgateClient) Start(now time.Time, c *Call) {
	c.Policy = t.policy.Start(now, c.Deadline)
	c.Held = false
}

func (t *tollgateClient) Admit(now time.Time, c *Call) Admission {
	// Decide and Recheck return refusals as values: a refused call costs no allocation (the
	// middleware gets the same refusal as a *limiter.RefusedError from Reserve and Confirm).
	if c.Held {
		// The reservation's delay has passed: confirm it (a rate cut meanwhile moves it back).
		d, ref := c.Reservation.Recheck(now, c.Deadline)
		if ref.Refused() {
			c.Held = false
			return Admission{Refused: true, Reason: ref.Reason.String(), Rule: ref.Rule}
		}
		if d > 0 {
			return Admission{Wait: d, Rule: c.Reservation.Rule()}
		}
		c.Held = false
		return Admission{}
	}
	r, ref := t.lim.Decide(now, c.Key, c.Units, c.Deadline)
	if ref.Refused() {
		return Admission{Refused: true, Reason: ref.Reason.String(), Rule: ref.Rule}
	}
	if d := r.Delay(); d > 0 {
		c.Held, c.Reservation = true, r
		return Admission{Wait: d, Rule: r.Rule()}
	}
	return Admission{Rule: r.Rule()}
}

func (t *tollgateClient) Abandon(now time.Time, c *Call) {
	if c.Held {
		c.Reservation.Cancel(now)
		c.Held = false
	}
}

func (t *tollgateClient) Finish(now time.Time, c *Call, s backoff.Signal) Decision {
	d := policyFinish(t.policy, &t.classes, now, c, s, t.rng)
	switch d.Class {
	case backoff.Throttle:
		// As the middleware's feedback: the throttle with the server's hint, which pauses the key.
		retryAfter, _ := c.Hints.Delay(now)
		t.lim.Feedback(now, c.Key, limiter.Feedback{Throttled: true, RetryAfter: retryAfter, Latency: c.Latency})
	case backoff.Success:
		t.lim.Feedback(now, c.Key, limiter.Feedback{Latency: c.Latency})
	}
	return d
}
