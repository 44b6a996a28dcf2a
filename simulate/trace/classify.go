package trace

import "github.com/tollgate/tollgate/backoff"

// classify returns the outcome of a request that ended with error code code ("" for none) and
// HTTP status status (0 if unknown), with the same rules the middleware and simulator use
// (backoff.DefaultClassifier): the code decides before the status, so S3's 503 SlowDown is
// throttled, not transient; EC2's CloudTrail spelling "Client.RequestLimitExceeded" is a throttle.
func classify(code string, status int) Outcome {
	return Outcome(backoff.DefaultClassifier().Classify(backoff.Signal{Code: code, Status: status}).String())
}
