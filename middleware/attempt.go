package middleware

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	smithymiddleware "github.com/aws/smithy-go/middleware"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/limiter"
)

// attemptMiddleware runs once per attempt — retries included, since AWS counts them — in the
// Finalize step right after the SDK's "Retry" middleware, so it runs before the request is signed
// and a wait never makes a signature stale. It takes the attempt's token from its API's bucket
// (waiting, or refusing with a typed client-side error), sends the attempt, classifies what came
// back and feeds that to the limiter and the observer.
type attemptMiddleware struct{ t *Tollgate }

// ID identifies the middleware in the stack.
func (*attemptMiddleware) ID() string { return "tollgate.Attempt" }

func (m *attemptMiddleware) HandleFinalize(ctx context.Context, in smithymiddleware.FinalizeInput, next smithymiddleware.FinalizeHandler) (
	out smithymiddleware.FinalizeOutput, md smithymiddleware.Metadata, err error,
) {
	t := m.t
	cs := callFrom(ctx)
	if cs == nil {
		// Installed without the call middleware (not through AddToStack): nothing to key on.
		return next.HandleFinalize(ctx, in)
	}
	attempt := cs.attempts + 1
	if t.limiter != nil {
		if err := m.admit(ctx, cs, attempt); err != nil {
			return out, md, err // not sent: it does not count as an attempt
		}
	}
	cs.attempts = attempt

	start := t.clock()
	out, md, err = next.HandleFinalize(ctx, in)
	end := t.clock()

	f := failureOf(err)
	class := classOf(t.classifier, err, f)
	cs.lastClass = class
	if t.limiter != nil {
		switch class {
		case backoff.Throttle:
			t.limiter.Throttled(end, cs.key)
		case backoff.Success:
			t.limiter.Succeeded(end, cs.key)
		}
	}
	if t.observer != nil {
		t.emit(event.Event{
			Kind: event.AttemptFinished, Time: end, Service: cs.key.Service, Operation: cs.operation,
			Region: cs.key.Region, Attempt: attempt, Outcome: class, ErrorCode: f.Code, Status: f.Status,
			Duration: end.Sub(start),
		})
	}
	if err == nil {
		t.policy.Succeeded(end, &cs.call)
		return out, md, nil
	}
	return out, md, &attemptError{err: err, cs: cs}
}

// admit takes the attempt's token from the limiter, waiting in real time when the bucket says
// so. A client-side refusal comes back as the limiter's typed error; a cancelled wait as the SDK's
// *aws.RequestCanceledError, with the reserved tokens given back.
func (m *attemptMiddleware) admit(ctx context.Context, cs *callState, attempt int) error {
	t := m.t
	now := t.clock()
	deadline, _ := ctx.Deadline()
	res, err := t.limiter.Reserve(now, cs.key, cs.units, deadline)
	if err != nil {
		var refused *limiter.RefusedError
		if errors.As(err, &refused) {
			cs.stop = refused.Reason.String()
			if t.observer != nil {
				t.emit(event.Event{
					Kind: event.LimiterRefused, Time: now, Service: cs.key.Service, Operation: cs.operation,
					Region: cs.key.Region, Attempt: attempt, Duration: refused.Wait, Reason: refused.Reason.String(),
					Rule: refused.Rule,
				})
			}
		}
		return err
	}
	wait := res.Delay()
	if wait > 0 {
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			res.Cancel(t.clock())
			return &aws.RequestCanceledError{Err: ctx.Err()}
		}
	}
	if t.observer != nil {
		e := event.Event{
			Kind: event.LimiterWaited, Time: now, Service: cs.key.Service, Operation: cs.operation,
			Region: cs.key.Region, Attempt: attempt, Duration: wait, Rule: res.Rule(),
		}
		if avail, burst, ok := t.limiter.Tokens(now.Add(wait), cs.key); ok {
			e.Value, e.Capacity = avail, float64(burst)
		}
		t.emit(e)
	}
	return nil
}

// attemptError carries an attempt's error back to the SDK's retry middleware together with the
// call's state, so the retryer's RetryDelay (which gets no context) finds the delay the policy
// chose. It is transparent: same message, and Unwrap gives the original error. tidyError removes
// it before the caller sees the error.
type attemptError struct {
	err error
	cs  *callState
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

func unwrapAttempt(err error) error {
	if ae, ok := err.(*attemptError); ok {
		return ae.err
	}
	return err
}

func callOfError(err error) *callState {
	var ae *attemptError
	if errors.As(err, &ae) {
		return ae.cs
	}
	return nil
}
