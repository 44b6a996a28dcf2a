package middleware

import (
	"context"
	"errors"
	"time"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/limiter"
)

// attemptID names an attempt in events: its limiter key (service, Region, partition), the SDK's
// operation name (the key's may carry a limiter variant) and its 1-based number.
type attemptID struct {
	key       limiter.Key
	operation string
	attempt   int
}

func (id attemptID) event(kind event.Kind, now time.Time) event.Event {
	return event.Event{Kind: kind, Time: now, Service: id.key.Service, Operation: id.operation,
		Region: id.key.Region, Attempt: id.attempt}
}

// decideRetryWith asks p whether call may be retried after a failure of class, and reports the
// decision to the observer: the budget's level, then either the scheduled backoff or the
// refusal. The SDK retryer and the RoundTripper decide through it with the call's service's
// policy.
func (t *Tollgate) decideRetryWith(p *backoff.Policy, now time.Time, call *backoff.Call, class backoff.Class, hints backoff.Hints, id attemptID) backoff.Decision {
	d := p.FailedAs(now, call, class, hints, t.rng)
	if t.observer == nil {
		return d
	}
	if d.Budget != "" {
		e := id.event(event.BudgetLevel, now)
		e.Attempt = 0
		e.Budget, e.Value, e.Capacity = d.Budget, d.Level.Available, d.Level.Capacity
		t.emit(e)
	}
	var e event.Event
	if d.Retry {
		e = id.event(event.BackoffScheduled, now)
		if d.Hinted {
			e.Reason = "hinted"
		}
	} else {
		e = id.event(event.RetryRefused, now)
		e.Reason = d.Stop.String()
	}
	e.Outcome, e.Duration = class, d.Delay
	t.emit(e)
	return d
}

// admit takes one attempt's token from the limiter, waiting in real time when the bucket says
// so, and reports the wait or the refusal to the observer. A client-side refusal comes back as
// the limiter's *limiter.RefusedError; a wait cut short by ctx as ctx's error, with the reserved
// tokens given back.
func (t *Tollgate) admit(ctx context.Context, id attemptID, units int) error {
	now := t.clock()
	deadline, _ := ctx.Deadline()
	res, err := t.limiter.Reserve(now, id.key, units, deadline)
	if err != nil {
		var refused *limiter.RefusedError
		if errors.As(err, &refused) && t.observer != nil {
			e := id.event(event.LimiterRefused, now)
			e.Duration, e.Reason, e.Rule = refused.Wait, refused.Reason.String(), refused.Rule
			t.emit(e)
		}
		return err
	}
	wait := res.Delay()
	for d := wait; d > 0; {
		if err := sleepCtx(ctx, d); err != nil {
			res.Cancel(t.clock())
			return err
		}
		// A rate cut while this attempt waited may move it back, or refuse it.
		if d, err = res.Confirm(t.clock(), deadline); err != nil {
			var refused *limiter.RefusedError
			if errors.As(err, &refused) && t.observer != nil {
				e := id.event(event.LimiterRefused, now)
				e.Duration, e.Reason, e.Rule = refused.Wait, refused.Reason.String(), refused.Rule
				t.emit(e)
			}
			return err
		}
		wait += d
	}
	if t.observer != nil {
		e := id.event(event.LimiterWaited, now)
		e.Duration, e.Rule = wait, res.Rule()
		if avail, burst, ok := t.limiter.Tokens(now.Add(wait), id.key); ok {
			e.Value, e.Capacity = avail, float64(burst)
		}
		t.emit(e)
	}
	return nil
}

// feedback tells the limiter how AWS answered an attempt — a throttle (with the server's
// Retry-After hint) or a success, and how long the attempt took from being sent to its answer
// (took); other outcomes teach it nothing — and reports a change of the
// key's adaptive rate as a RateChanged event.
func (t *Tollgate) feedback(now time.Time, id attemptID, class backoff.Class, hints backoff.Hints, took time.Duration) {
	f := limiter.Feedback{Latency: took}
	switch class {
	case backoff.Throttle:
		f.Throttled = true
		f.RetryAfter, _ = hints.Delay(now)
	case backoff.Success:
	default:
		return
	}
	ch := t.limiter.Feedback(now, id.key, f)
	if ch.Kind() == limiter.RateUnchanged || t.observer == nil {
		return
	}
	e := id.event(event.RateChanged, now)
	e.Rule, e.Reason, e.Value, e.Capacity = ch.Rule, ch.Kind().String(), ch.To, ch.Burst
	t.emit(e)
}

// sleepCtx waits d in real time, or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
