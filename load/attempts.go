package load

import (
	"context"
	"errors"
	"time"

	smithy "github.com/aws/smithy-go"
	smithymiddleware "github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tollgate/tollgate/backoff"
)

// callStats are what the attempt counter saw of one call.
type callStats struct {
	attempts, throttled int
	// canceled: the latest attempt ended because the call's context did (its deadline passed
	// while the attempt was in flight)
	canceled bool
	// t0, when set (scenario runs), is the run's start: the counter then keeps each answered
	// attempt in answers
	t0      time.Time
	answers []answer
}

// answer is an attempt that got an answer: when it ended (from the run's start), how long it
// took on the wire, and whether it was throttled.
type answer struct {
	end, rtt  time.Duration
	throttled bool
}

type callKey struct{}

// attemptCounter counts, for the call in its context, every attempt that was sent and those AWS
// throttled. It sits at the very end of the Finalize step — after the SDK's retry loop,
// tollgate's attempt middleware and signing — so it sees exactly the attempts that went on the
// wire, with or without tollgate, and none the client-side limiter refused.
type attemptCounter struct{}

func (attemptCounter) ID() string { return "tollgate.load.AttemptCounter" }

func (attemptCounter) HandleFinalize(ctx context.Context, in smithymiddleware.FinalizeInput, next smithymiddleware.FinalizeHandler) (
	smithymiddleware.FinalizeOutput, smithymiddleware.Metadata, error,
) {
	sent := time.Now()
	out, md, err := next.HandleFinalize(ctx, in)
	if cs, ok := ctx.Value(callKey{}).(*callStats); ok {
		// One call's attempts run one after another: no lock needed.
		cs.attempts++
		throttled := err != nil && classify(err) == backoff.Throttle
		if throttled {
			cs.throttled++
		}
		cs.canceled = err != nil && ctx.Err() != nil
		if !cs.t0.IsZero() && !cs.canceled {
			now := time.Now()
			cs.answers = append(cs.answers, answer{end: now.Sub(cs.t0), rtt: now.Sub(sent), throttled: throttled})
		}
	}
	return out, md, err
}

// classify returns backoff's class of an attempt's error, from its AWS error code and HTTP
// status.
func classify(err error) backoff.Class {
	var sig backoff.Signal
	var ae smithy.APIError
	if errors.As(err, &ae) {
		sig.Code = ae.ErrorCode()
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		sig.Status = re.HTTPStatusCode()
	}
	if sig.Code == "" && sig.Status == 0 {
		return backoff.NonRetryable // a transport error: not a throttle, whatever else it is
	}
	return backoff.DefaultClassifier().Classify(sig)
}

// countAttempts adds the attempt counter at the end of a stack's Finalize step.
func countAttempts(s *smithymiddleware.Stack) error {
	return s.Finalize.Add(attemptCounter{}, smithymiddleware.After)
}
