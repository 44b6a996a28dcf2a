package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy decides, attempt by attempt, whether and when a call is retried. It combines a Backoff,
// a Classifier, server hints, an optional retry Budget, a maximum number of attempts, a maximum
// total delay, and the call's deadline. A Policy is immutable after it is built and may be shared
// by any number of goroutines; per-call state lives in a Call value.
//
//	call := p.Start(now, deadline)
//	for {
//		... make an attempt ...
//		if it succeeded { p.Succeeded(now, &call); break }
//		d := p.Failed(now, &call, failure, rng)
//		if !d.Retry { return d.Err(lastErr) }
//		... wait d.Delay ...
//	}
type Policy struct {
	// MaxAttempts bounds the attempts of one call, the first included. 0 means 3 (the SDK
	// default); a negative value means no bound (the budget and deadline still apply).
	MaxAttempts int
	// MaxTotalDelay bounds the sum of the delays of one call; 0 means no bound.
	MaxTotalDelay time.Duration
	// Backoff draws the delays.
	Backoff Backoff
	// Classifier classifies failures; nil means DefaultClassifier().
	Classifier *Classifier
	// Budget, if not nil, must agree to every retry.
	Budget Budget
	// HintMaxExtra is how far a server hint may push the delay above the computed backoff;
	// 0 means DefaultHintMaxExtra (5 s). IgnoreHints turns hints off.
	HintMaxExtra time.Duration
	IgnoreHints  bool
}

// DefaultMaxAttempts is the number of attempts per call when Policy.MaxAttempts is 0.
const DefaultMaxAttempts = 3

// Call is the state of one call under a Policy. Its zero value is not ready: get one from Start.
type Call struct {
	deadline   time.Time
	attempts   int           // attempts finished so far
	prevDelay  time.Duration // last delay drawn (decorrelated jitter)
	totalDelay time.Duration
	spend      Spend // what the pending attempt cost the budget (zero for the first)
}

// Attempts returns the number of attempts that have finished.
func (c *Call) Attempts() int { return c.attempts }

// TotalDelay returns the sum of the delays scheduled so far.
func (c *Call) TotalDelay() time.Duration { return c.totalDelay }

// Failure describes a failed attempt: what went wrong and what the server hinted.
type Failure struct {
	Signal
	Hints Hints
}

// StopReason says why a call is not retried. The client-side reasons (StopBudget, StopDeadline,
// StopMaxTotalDelay) are reported to callers as *RetryRefusedError.
type StopReason uint8

const (
	// NoStop: the decision is to retry.
	NoStop StopReason = iota
	// StopSuccess: the attempt did not fail.
	StopSuccess
	// StopNonRetryable: the failure's class is not retryable.
	StopNonRetryable
	// StopMaxAttempts: the call made all the attempts it may.
	StopMaxAttempts
	// StopDeadline: the retry would start at or after the call's deadline.
	StopDeadline
	// StopMaxTotalDelay: the retry would push the call's total delay past MaxTotalDelay.
	StopMaxTotalDelay
	// StopBudget: the retry budget refused.
	StopBudget
)

var stopNames = [...]string{"", "success", "non_retryable", "max_attempts", "deadline", "max_total_delay", "budget"}

// String returns the reason's label value, e.g. "budget".
func (r StopReason) String() string {
	if int(r) < len(stopNames) {
		return stopNames[r]
	}
	return "unknown"
}

// ClientSide reports whether tollgate, not AWS, stopped the call.
func (r StopReason) ClientSide() bool {
	return r == StopDeadline || r == StopMaxTotalDelay || r == StopBudget
}

// Decision is the Policy's answer after a failed attempt.
type Decision struct {
	Class    Class         // the failed attempt's class
	Retry    bool          // retry after Delay
	Delay    time.Duration // the delay to wait before the retry (or the one that was refused)
	Backoff  time.Duration // the delay drawn before any server hint was applied
	Hinted   bool          // a server hint set Delay
	Stop     StopReason    // why not, when Retry is false
	Attempts int           // attempts finished so far
	Budget   string        // the budget's name, when one is configured
	Level    Level         // the budget's level after this decision
	Needed   float64       // for StopBudget: the tokens a retry needed (if known)
	Left     time.Duration // for StopDeadline: the time left before the deadline
}

// Start begins a call at now. deadline is the call's deadline (zero for none). Start tells the
// budget about the request.
func (p *Policy) Start(now, deadline time.Time) Call {
	if p.Budget != nil {
		p.Budget.OnRequest(now)
	}
	return Call{deadline: deadline}
}

// Succeeded records that the call's latest attempt succeeded.
func (p *Policy) Succeeded(now time.Time, c *Call) {
	c.attempts++
	if p.Budget != nil {
		p.Budget.OnSuccess(now, c.spend)
	}
}

func (p *Policy) classifier() *Classifier {
	if p.Classifier != nil {
		return p.Classifier
	}
	return defaultClassifier
}

func (p *Policy) maxAttempts() int {
	if p.MaxAttempts == 0 {
		return DefaultMaxAttempts
	}
	return p.MaxAttempts
}

// Classify returns the class p gives to s.
func (p *Policy) Classify(s Signal) Class { return p.classifier().Classify(s) }

// Failed records that the call's latest attempt failed with f at now and decides whether to
// retry. Checks run in this order, and the first that says no wins: the class must be
// retryable; the call must have attempts left; the delay (backoff, raised by a server hint) must
// end before the deadline; the total delay must stay within MaxTotalDelay; the budget must agree.
// The budget is asked last, so nothing is spent on a retry that will not happen.
func (p *Policy) Failed(now time.Time, c *Call, f Failure, r *rand.Rand) Decision {
	return p.FailedAs(now, c, p.classifier().Classify(f.Signal), f.Hints, r)
}

// FailedAs is Failed for a caller that has already classified the failure, e.g. an adapter that
// honours an error's own claim to be retryable (the SDK's clock-skew errors).
func (p *Policy) FailedAs(now time.Time, c *Call, class Class, hints Hints, r *rand.Rand) Decision {
	c.attempts++
	c.spend = Spend{}
	d := Decision{Class: class, Attempts: c.attempts}
	if p.Budget != nil {
		d.Budget = p.Budget.Name()
	}
	if d.Class == Success {
		// A failure the classifier sees as success (e.g. no code, status 200): nothing to retry.
		d.Stop = StopSuccess
		return d
	}
	if !d.Class.Retryable() {
		d.Stop = StopNonRetryable
		return d
	}
	if m := p.maxAttempts(); m > 0 && c.attempts >= m {
		d.Stop = StopMaxAttempts
		return d
	}

	d.Backoff = p.Backoff.Delay(r, d.Class, c.attempts-1, c.prevDelay)
	d.Delay = d.Backoff
	if !p.IgnoreHints {
		if h, ok := hints.Delay(now); ok {
			extra := p.HintMaxExtra
			if extra == 0 {
				extra = DefaultHintMaxExtra
			}
			d.Delay = ClampHint(d.Backoff, h, extra)
			d.Hinted = d.Delay != d.Backoff
		}
	}

	if !c.deadline.IsZero() && !now.Add(d.Delay).Before(c.deadline) {
		d.Stop = StopDeadline
		d.Left = max(c.deadline.Sub(now), 0)
		return d
	}
	if p.MaxTotalDelay > 0 && c.totalDelay+d.Delay > p.MaxTotalDelay {
		d.Stop = StopMaxTotalDelay
		return d
	}
	if p.Budget != nil {
		var spend Spend
		var ok bool
		q, isQuota := p.Budget.(*TokenQuota)
		if isQuota {
			// AcquireRetry then Level, under one lock.
			spend, ok, d.Level = q.acquireRetryLevel(d.Class)
		} else {
			spend, ok = p.Budget.AcquireRetry(now, d.Class)
			d.Level = p.Budget.Level(now)
		}
		if !ok {
			d.Stop = StopBudget
			d.Needed = 1
			if isQuota {
				d.Needed = q.RetryCost(d.Class)
			} else if c, ok := p.Budget.(interface{ RetryCost(Class) float64 }); ok {
				d.Needed = c.RetryCost(d.Class)
			}
			return d
		}
		c.spend = spend
	}

	d.Retry = true
	c.prevDelay = d.Backoff
	c.totalDelay += d.Delay
	return d
}

// Err returns the error a caller should see when d says not to retry and the last attempt failed
// with last: a *RetryRefusedError wrapping last for a client-side stop (budget, deadline,
// maximum total delay), last itself otherwise, and nil when d says to retry. last may be nil
// when the caller reports the service error alongside (the SDK joins the two).
func (d Decision) Err(last error) error {
	if d.Retry || !d.Stop.ClientSide() {
		if d.Retry {
			return nil
		}
		return last
	}
	return &RetryRefusedError{
		Reason:    d.Stop,
		Attempts:  d.Attempts,
		Delay:     d.Delay,
		Left:      d.Left,
		Budget:    d.Budget,
		Available: d.Level.Available,
		Needed:    d.Needed,
		Err:       last,
	}
}
