package middleware

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	smithymiddleware "github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

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
		if err := t.admit(ctx, attemptID{cs.key, cs.operation, attempt}, cs.units); err != nil {
			// Not sent: it does not count as an attempt.
			var refused *limiter.RefusedError
			if errors.As(err, &refused) {
				cs.stop = refused.Reason.String()
				return out, md, err
			}
			return out, md, &aws.RequestCanceledError{Err: err}
		}
	}
	cs.attempts = attempt
	req, _ := in.Request.(*smithyhttp.Request)
	countAttempts(cs, req)

	start := t.clock()
	wallStart := time.Now()
	out, md, err = next.HandleFinalize(ctx, in)
	end := t.clock()

	f := failureOf(err)
	class := classOf(t.classifier, err, f)
	if class == backoff.NonRetryable && sdkWillCorrectSkew(err, req, md, wallStart) {
		// The SDK's retry middleware will mark this error retryable and correct its clock.
		class = backoff.Transient
	}
	cs.lastClass = class
	if t.limiter != nil {
		t.feedback(end, attemptID{cs.key, cs.operation, attempt}, class, f.Hints, end.Sub(start))
	}
	if t.observer != nil {
		t.emit(event.Event{
			Kind: event.AttemptFinished, Time: end, Service: cs.key.Service, Operation: cs.operation,
			Region: cs.key.Region, Attempt: attempt, Outcome: class, ErrorCode: f.Code, Status: f.Status,
			Duration: end.Sub(start),
		})
	}
	if err == nil {
		cs.svc.policy.Succeeded(end, &cs.call)
		return out, md, nil
	}
	lastAttempt := cs.maxAttempts > 0 && attempt >= cs.maxAttempts
	if class.Retryable() && !lastAttempt && req != nil && req.GetStream() != nil && !req.IsStreamSeekable() {
		// The SDK would back off, then fail to rewind the body: stop now, and say why.
		cs.stop = "body_not_rewindable"
		err = &BodyNotSeekableError{Service: cs.key.Service, Operation: cs.operation, Attempts: attempt, Err: err}
	}
	return out, md, &attemptError{err: err, cs: cs}
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
