package load

import (
	"context"
	"errors"

	smithy "github.com/aws/smithy-go"
	smithymiddleware "github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tollgate/tollgate/backoff"
)

// callStats are what the attempt counter saw of one call.
type callStats struct {
	attempts, throttled int
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
	out, md, err := next.HandleFinalize(ctx, in)
	if cs, ok := ctx.Value(callKey{}).(*callStats); ok {
		// One call's attempts run one after another: no lock needed.
		cs.attempts++
		if err != nil && classify(err) == backoff.Throttle {
			cs.throttled++
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
