package middleware

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/tollgate/tollgate/backoff"
)

// retryer is tollgate's aws.RetryerV2. The SDK's own retry middleware ("Retry", Finalize step)
// keeps running the retry loop — cloning and rewinding the request, setting the amz-sdk-request
// header, correcting clock skew, sleeping — and asks this retryer every question: is the error
// retryable (backoff's classes), may I retry (the call's attempts against its service's
// maximum, then the policy: deadline, maximum total delay, tollgate's budget — the SDK's retry
// quota is never consulted), and how long to wait (backoff's jitter and server hints).
//
// MaxAttempts reports 0 ("no bound") to the SDK: the SDK asks it once per client, with no way to
// say which service, and the maximum depends on the service (DynamoDB's is 4). tollgate counts
// each call's attempts itself, against its service's maximum, and ends the call with the SDK's
// own *retry.MaxAttemptsError. A RetryMaxAttempts option (per client, config or call) wraps the
// retryer as the SDK always does; the SDK then counts, and tollgate leaves it to the SDK.
type retryer struct{ t *Tollgate }

var _ aws.RetryerV2 = (*retryer)(nil)

// NewRetryer returns an aws.RetryerV2 that retries with t's policy. Every retryer of one Tollgate
// shares its budget and jitter source. It is meant to be installed together with AddToStack
// (WithTollgate does both); alone it still classifies, budgets, backs off and stops at
// Config.Policy.MaxAttempts (default 3), but knows neither the call's service (so no per-service
// defaults: DynamoDB gets 3 attempts and the 50 ms base) nor its deadline before sleeping, nor
// decorrelated jitter's per-call state.
func (t *Tollgate) NewRetryer() aws.Retryer { return &retryer{t: t} }

func nopRelease(error) error { return nil }

// IsErrorRetryable reports whether backoff classifies err as Throttle, Transient or Timeout.
func (r *retryer) IsErrorRetryable(err error) bool {
	return classOf(r.t.classifier, err, failureOf(err)).Retryable()
}

// MaxAttempts returns 0: tollgate bounds each call's attempts by its service's maximum itself
// (see retryer).
func (r *retryer) MaxAttempts() int { return 0 }

// GetAttemptToken admits every attempt: per-API rate limiting happens in the attempt
// middleware, keyed by the call's API and partition, not here per client.
func (r *retryer) GetAttemptToken(context.Context) (func(error) error, error) {
	return nopRelease, nil
}

// GetInitialToken is the deprecated form of GetAttemptToken.
func (r *retryer) GetInitialToken() func(error) error { return nopRelease }

// GetRetryToken asks the policy whether the call may be retried after err. A refusal is a
// *backoff.RetryRefusedError, which the SDK returns joined with err (tidied by the call
// middleware into one error wrapping err).
func (r *retryer) GetRetryToken(ctx context.Context, err error) (func(error) error, error) {
	t := r.t
	now := t.clock()
	f := failureOf(err)
	class := classOf(t.classifier, err, f)
	cs := callFrom(ctx)
	if cs == nil {
		cs = callOfError(err)
	}
	if cs == nil {
		return r.statelessRetryToken(now, class)
	}
	if class.Retryable() && cs.maxAttempts > 0 && cs.attempts >= cs.maxAttempts {
		// What the SDK's retry middleware does at its maximum: stop, with no event and no
		// budget spent (tidyError makes it the SDK's *retry.MaxAttemptsError).
		cs.stop = backoff.StopMaxAttempts.String()
		return nil, &maxAttemptsReached{attempts: cs.attempts}
	}
	d := t.decideRetryWith(&cs.svc.policy, now, &cs.call, class, f.Hints, attemptID{cs.key, cs.operation, cs.attempts})
	if !d.Retry {
		cs.stop = d.Stop.String()
		if d.Stop.ClientSide() {
			return nil, d.Err(nil)
		}
		// Not retryable after all (e.g. the error classified differently here): stop plainly.
		return nil, &backoff.RetryRefusedError{Reason: d.Stop, Attempts: cs.attempts}
	}
	cs.pending, cs.havePending = d.Delay, true
	return nopRelease, nil
}

// statelessRetryToken serves a retryer installed without the stack middleware: it can only ask
// the budget.
func (r *retryer) statelessRetryToken(now time.Time, class backoff.Class) (func(error) error, error) {
	b := r.t.policy.Budget
	if b == nil {
		return nopRelease, nil
	}
	spend, ok := b.AcquireRetry(now, class)
	if !ok {
		lvl := b.Level(now)
		needed := 1.0
		if c, ok := b.(interface{ RetryCost(backoff.Class) float64 }); ok {
			needed = c.RetryCost(class)
		}
		return nil, &backoff.RetryRefusedError{Reason: backoff.StopBudget, Budget: b.Name(), Available: lvl.Available, Needed: needed}
	}
	return func(err error) error {
		if err == nil {
			b.OnSuccess(r.t.clock(), spend)
		}
		return nil
	}, nil
}

// RetryDelay returns the delay GetRetryToken chose for this call. The SDK then raises whatever
// RetryDelay returns by `x-amz-retry-after`, clamped to [delay, delay+5 s]; the policy has
// already applied the hint with its own limit, so RetryDelay returns the value for which the
// SDK's adjustment lands exactly on the policy's delay (sdkDelayFor).
//
// The SDK also calls it after GetRetryToken refused a long-polling operation (SQS
// ReceiveMessage, ...), to back off before returning; a call stopped at its maximum attempts
// gets no delay, as without tollgate. A retryer installed without the stack middleware counts
// attempts here: past the maximum it ends the call with the SDK's *retry.MaxAttemptsError.
func (r *retryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	f := failureOf(err)
	cs := callOfError(err)
	if cs != nil && cs.havePending {
		d := cs.pending
		cs.havePending = false
		return sdkDelayFor(d, f.Hints.AmzRetryAfter), nil
	}
	if cs != nil && cs.stop == backoff.StopMaxAttempts.String() {
		return 0, nil
	}
	if cs == nil && r.t.maxAttempts > 0 && attempt >= r.t.maxAttempts {
		return 0, &retry.MaxAttemptsError{Attempt: attempt, Err: err}
	}
	class := classOf(r.t.classifier, err, f)
	return r.t.policy.Backoff.Delay(r.t.rng, class, attempt-1, 0), nil
}

// sdkMaxRetryAfterExtra is how far the SDK's retry middleware lets x-amz-retry-after raise a
// RetryDelay (aws-sdk-go-v2 aws/retry/middleware.go, adjustForRetryAfterHeader).
const sdkMaxRetryAfterExtra = 5 * time.Second

// sdkDelayFor returns r such that the SDK's adjustment — for a valid x-amz-retry-after of h,
// clamp(h, r, r+5s) — equals want. With no valid header the SDK leaves r alone, so r = want.
func sdkDelayFor(want time.Duration, amzRetryAfter string) time.Duration {
	if amzRetryAfter == "" {
		return want
	}
	ms, err := strconv.ParseInt(amzRetryAfter, 10, 64)
	if err != nil || ms < 0 {
		return want // the SDK ignores it too
	}
	if h := time.Duration(ms) * time.Millisecond; h > want {
		// clamp(h, r, r+5s) with h > r+5s is r+5s.
		return want - sdkMaxRetryAfterExtra
	}
	return want // clamp(h, want, want+5s) with h ≤ want is want
}
