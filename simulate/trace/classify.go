package trace

// This file holds the one mapping from an AWS error code and HTTP status to an Outcome.
// It mirrors the error classes of package backoff; when backoff's Classifier lands, classify
// becomes a call to it.

// throttleCodes are the error codes AWS uses for throttling (aws-sdk-go-v2 retry's
// DefaultThrottleErrorCodes; reference/aws_throttling.md).
var throttleCodes = map[string]bool{
	"Throttling":                             true,
	"ThrottlingException":                    true,
	"ThrottledException":                     true,
	"RequestThrottledException":              true,
	"TooManyRequestsException":               true,
	"ProvisionedThroughputExceededException": true,
	"TransactionInProgressException":         true,
	"RequestLimitExceeded":                   true,
	"BandwidthLimitExceeded":                 true,
	"LimitExceededException":                 true,
	"RequestThrottled":                       true,
	"SlowDown":                               true,
	"PriorRequestNotComplete":                true,
	"EC2ThrottledException":                  true,
}

// transientCodes are error codes of retryable server-side failures.
var transientCodes = map[string]bool{
	"RequestTimeout":          true,
	"RequestTimeoutException": true,
	"InternalError":           true,
	"ServiceUnavailable":      true,
}

// classify returns the outcome of a request that ended with error code code ("" for none) and
// HTTP status status (0 if unknown). A throttling code or status 429 is throttled; a transient
// code or status 500/502/503/504 is transient; any other code or a status ≥ 400 is
// non-retryable; otherwise the request succeeded. The code decides before the status:
// S3's 503 SlowDown is throttled, not transient.
func classify(code string, status int) Outcome {
	switch {
	case throttleCodes[code]:
		return OutcomeThrottled
	case transientCodes[code]:
		return OutcomeTransient
	case code != "":
		if status == 429 {
			return OutcomeThrottled
		}
		if isTransientStatus(status) {
			return OutcomeTransient
		}
		return OutcomeNonRetryable
	case status == 429:
		return OutcomeThrottled
	case isTransientStatus(status):
		return OutcomeTransient
	case status >= 400:
		return OutcomeNonRetryable
	}
	return OutcomeSuccess
}

func isTransientStatus(status int) bool {
	return status == 500 || status == 502 || status == 503 || status == 504
}
