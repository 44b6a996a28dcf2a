package metrics

import (
	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/metrics/internal/label"
)

// Namespace prefixes every metric tollgate exports.
const Namespace = "tollgate"

// Label names. Every series of tollgate's own metrics carries LabelService and LabelOperation
// (except the budget and build-info series) plus at most one small enumeration.
const (
	LabelService   = "aws_service" // SDK service ID: "EC2", "S3", "DynamoDB", ...
	LabelOperation = "operation"   // "DescribeInstances", "GetObject", ...
	LabelResult    = "result"      // Results
	LabelOutcome   = "outcome"     // backoff.Class strings
	LabelErrorCode = "error_code"  // ErrorCodes, or "other"
	LabelReason    = "reason"      // RetryReasons, RetryRefusalReasons or LimiterRefusalReasons
	LabelBudget    = "budget"      // the retry budget's name ("aws-retry-quota", "ratio")
)

// Other is the label value unknown, invalid or over-the-cap values are folded into.
const Other = label.Other

// Call results: the values of the result label of tollgate_calls_total.
const (
	ResultSuccessWithoutRetry = "success_without_retry"
	ResultSuccessWithRetry    = "success_with_retry"
	ResultFailureWithoutRetry = "failure_without_retry"
	ResultFailureWithRetry    = "failure_with_retry"
)

// Results lists the result label values, in the order their series are created.
func Results() []string {
	return []string{ResultSuccessWithoutRetry, ResultSuccessWithRetry, ResultFailureWithoutRetry, ResultFailureWithRetry}
}

func resultIndex(success, retried bool) int {
	i := 0
	if !success {
		i = 2
	}
	if retried {
		i++
	}
	return i
}

// Metric names (fully qualified).
const (
	NameCalls           = "tollgate_calls_total"
	NameAttempts        = "tollgate_attempts_total"
	NameThrottles       = "tollgate_throttles_total"
	NameRetries         = "tollgate_retries_total"
	NameRetriesRefused  = "tollgate_retries_refused_total"
	NameCallAttempts    = "tollgate_call_attempts"
	NameCallDuration    = "tollgate_call_duration_seconds"
	NameAttemptDuration = "tollgate_attempt_duration_seconds"
	NameBackoffDelay    = "tollgate_backoff_delay_seconds"
	NameLimiterWait     = "tollgate_limiter_wait_seconds"
	NameLimiterRefusals = "tollgate_limiter_refusals_total"
	NameLimiterTokens   = "tollgate_limiter_tokens_available"
	NameLimiterCapacity = "tollgate_limiter_tokens_capacity"
	NameLimiterRate     = "tollgate_limiter_refill_rate"
	NameRateChanges     = "tollgate_limiter_rate_changes_total"
	NameBudgetTokens    = "tollgate_retry_budget_tokens_available"
	NameBudgetCapacity  = "tollgate_retry_budget_tokens_capacity"
	NameInflight        = "tollgate_inflight_calls"

	NameStoreRoundTrip = "tollgate_store_round_trip_seconds"
	NameStoreShare     = "tollgate_store_lease_share"
	NameStoreFallback  = "tollgate_store_fallback"
	NameStoreFallbacks = "tollgate_store_fallbacks_total"
	NameStoreLost      = "tollgate_store_state_lost_total"
	NameStoreUnbacked  = "tollgate_store_unbacked_tokens_total"
	NameBuildInfo      = "tollgate_build_info"
)

// RetryReasons are the reason label values of tollgate_retries_total: the class of the failure
// that is retried.
func RetryReasons() []string {
	return []string{backoff.Throttle.String(), backoff.Transient.String(), backoff.Timeout.String()}
}

// RetryRefusalReasons are the reason label values of tollgate_retries_refused_total: the
// backoff.StopReason strings of a refused retry.
func RetryRefusalReasons() []string {
	return []string{backoff.StopBudget.String(), backoff.StopDeadline.String(), backoff.StopMaxTotalDelay.String(),
		backoff.StopMaxAttempts.String(), backoff.StopNonRetryable.String()}
}

// LimiterRefusalReasons are the reason label values of tollgate_limiter_refusals_total: the
// limiter.RefusalReason strings.
func LimiterRefusalReasons() []string {
	return []string{limiter.RefusedDeadline.String(), limiter.RefusedMaxWait.String(), limiter.RefusedFailFast.String(),
		limiter.RefusedExceedsBurst.String(), limiter.RefusedShared.String()}
}

// RateChangeReasons are the reason label values of tollgate_limiter_rate_changes_total: the
// limiter.RateChangeKind strings of an adaptive rate's change (cut: AWS throttled the API and
// its rate was cut; growth: the rate grew a step while calls waited for it).
func RateChangeReasons() []string {
	return []string{limiter.RateCut.String(), limiter.RateGrowth.String()}
}

// StoreFallbackReasons are the reason label values of tollgate_store_fallbacks_total: why a
// process stopped leasing from its fleet store.
func StoreFallbackReasons() []string { return []string{"timeout", "error", "breaker_open"} }

// ErrorCodes returns the error_code label values besides "other": the AWS throttle codes and
// transient codes of backoff's default table, then extra.
func ErrorCodes(extra ...string) []string { return label.ErrorCodes(extra...) }

// Classic histogram buckets. Prometheus 2.42 (Debian 12) stores only native buckets of a histogram
// that has both when native histograms are enabled on the server, so every histogram has classic
// buckets and native ones are opt-in (Options.NativeHistograms).
var (
	// AttemptsBuckets: attempts per call (the SDK default allows 3; adaptive callers more).
	AttemptsBuckets = []float64{1, 2, 3, 4, 5, 6, 8, 10}
	// BackoffBuckets: retry delays, up to the SDK's 20 s cap plus 5 s of server hint.
	BackoffBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 12, 16, 20, 25}
	// WaitBuckets: time spent waiting for a limiter token.
	WaitBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	// DurationBuckets: call and attempt latency, retries and waits included for calls.
	DurationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80}
)
