package middleware

import (
	"context"
	"errors"
	"strconv"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	smithymiddleware "github.com/aws/smithy-go/middleware"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/limiter"
)

// callState is what tollgate knows about one operation call, from the Initialize step to the end.
// It travels in the context (for the Finalize middleware and the retryer's token methods) and in
// attempt errors (for the retryer's RetryDelay, which gets no context).
type callState struct {
	key       limiter.Key
	operation string // the SDK's operation name; key.Operation may carry a limiter variant
	units     int
	start     time.Time
	deadline  time.Time
	svc       *servicePolicy // the service's retry policy
	call      backoff.Call
	// maxAttempts bounds the call's attempts; 0 when the SDK's retry middleware counts them
	// (a RetryMaxAttempts option wrapped the retryer, see countAttempts).
	maxAttempts int

	attempts    int           // attempts started
	lastClass   backoff.Class // class of the latest attempt
	pending     time.Duration // delay decided by GetRetryToken, handed to RetryDelay
	havePending bool
	stop        string // why tollgate stopped the call, "" if it did not
}

type callKey struct{}

func callFrom(ctx context.Context) *callState {
	cs, _ := ctx.Value(callKey{}).(*callState)
	return cs
}

// callMiddleware runs once per operation call, in the Initialize step, where the operation's
// input is at hand: it computes the limiter key (service, operation, region, partition), starts
// the retry policy's per-call state and reports the call's start and end.
type callMiddleware struct{ t *Tollgate }

// ID identifies the middleware in the stack.
func (*callMiddleware) ID() string { return "tollgate.Call" }

func (m *callMiddleware) HandleInitialize(ctx context.Context, in smithymiddleware.InitializeInput, next smithymiddleware.InitializeHandler) (
	out smithymiddleware.InitializeOutput, md smithymiddleware.Metadata, err error,
) {
	t := m.t
	service := smithymiddleware.GetServiceID(ctx)
	operation := smithymiddleware.GetOperationName(ctx)
	region := awsmiddleware.GetRegion(ctx)
	part := t.partition(service, operation, in.Parameters)
	now := t.clock()
	deadline, _ := ctx.Deadline()
	svc := t.servicePolicy(service)

	cs := &callState{
		operation: operation,
		key: limiter.Key{
			Region: region, Service: service, Operation: limiterOperation(service, operation, in.Parameters),
			Resource: part.Resource, Prefix: part.Prefix,
		},
		units:       unitsOf(service, operation, in.Parameters),
		start:       now,
		deadline:    deadline,
		svc:         svc,
		call:        svc.policy.Start(now, deadline),
		maxAttempts: svc.maxAttempts,
	}
	if t.observer != nil {
		t.emit(event.Event{Kind: event.CallStarted, Time: now, Service: service, Operation: operation, Region: region})
	}

	out, md, err = next.HandleInitialize(context.WithValue(ctx, callKey{}, cs), in)
	err = tidyError(err)

	if t.observer != nil {
		end := t.clock()
		outcome := backoff.Success
		if err != nil {
			outcome = cs.lastClass
			if outcome == backoff.Success {
				outcome = backoff.NonRetryable
			}
		}
		t.emit(event.Event{
			Kind: event.CallFinished, Time: end, Service: service, Operation: operation, Region: region,
			Outcome: outcome, Attempts: cs.attempts, Duration: end.Sub(cs.start), Reason: cs.stop,
		})
	}
	return out, md, err
}

// tidyError undoes the SDK's and tollgate's internal wrapping so the caller sees one clean chain
// under the SDK's OperationError: a retry refused by tollgate becomes a *backoff.RetryRefusedError
// wrapping the last service error (instead of errors.Join(serviceErr, refusal)), a call that
// used all its attempts ends with the SDK's own *retry.MaxAttemptsError, as it would without
// tollgate, and tollgate's attempt wrapper disappears.
func tidyError(err error) error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		if errs := j.Unwrap(); len(errs) == 2 {
			if rr, ok := errs[1].(*backoff.RetryRefusedError); ok && rr.Err == nil {
				rr.Err = unwrapAttempt(errs[0])
				return rr
			}
			if m, ok := errs[1].(*maxAttemptsReached); ok {
				return &retry.MaxAttemptsError{Attempt: m.attempts, Err: unwrapAttempt(errs[0])}
			}
		}
	}
	var mae *retry.MaxAttemptsError
	if errors.As(err, &mae) {
		mae.Err = unwrapAttempt(mae.Err)
	}
	return unwrapAttempt(err)
}

// maxAttemptsReached is what the retryer's GetRetryToken returns when the call has made all its
// attempts; tidyError turns it and the last error into the SDK's *retry.MaxAttemptsError.
type maxAttemptsReached struct{ attempts int }

func (e *maxAttemptsReached) Error() string {
	return "tollgate: exceeded maximum number of attempts, " + strconv.Itoa(e.attempts)
}
