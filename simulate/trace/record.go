package trace

import "time"

// Record is one API request of a trace: when it happened, what it called, how it ended.
//
// Strings are shared between records that carry the same value (readers intern them), so a
// Record is cheap to copy and to keep. The zero value is not a valid record: Time, Service,
// Operation and Outcome are required.
type Record struct {
	// Time is when the request happened, in UTC. Importers use the service's own timestamp:
	// the time S3 received the request, or the time CloudTrail says the call completed.
	Time time.Time
	// Service is the AWS SDK for Go v2 ServiceID of the called service: "EC2", "S3",
	// "DynamoDB", "KMS", "Lambda", "STS", "IAM", "CloudWatch Logs", ...
	Service string
	// Operation is the API operation as the SDK names it: "DescribeInstances", "GetObject".
	Operation string
	// Region is the AWS Region code, "" if unknown.
	Region string
	// Resource names the partition the request was charged to, "" if none: the S3 bucket,
	// the DynamoDB table, the Lambda function.
	Resource string
	// Key is the S3 object key (decoded), "" if none. A replay derives the S3 prefix
	// partition from it with whatever prefix scheme it models.
	Key string
	// Outcome is how the request ended.
	Outcome Outcome
	// ErrorCode is the AWS error code as AWS spells it ("SlowDown", "RequestLimitExceeded"),
	// "" on success. EC2's "Client."/"Server." prefixes seen in CloudTrail are removed.
	ErrorCode string
	// Status is the HTTP status code, 0 if unknown.
	Status int
	// Latency is how long the request took, 0 if unknown.
	Latency time.Duration
	// Units is the number of resources the request acted on (EC2 RunInstances: instances
	// asked for), 0 if not applicable.
	Units int
	// Client is an opaque identifier of the caller (process or principal), "" if unknown.
	// Importers pseudonymise principals: see ClientID.
	Client string
}

// Outcome says how a request ended. Its values are the strings of the native format.
type Outcome string

// The outcomes of a request.
const (
	// OutcomeSuccess: the request succeeded.
	OutcomeSuccess Outcome = "success"
	// OutcomeThrottled: AWS refused the request for its rate (a throttling error code or HTTP 429).
	OutcomeThrottled Outcome = "throttled"
	// OutcomeTransient: a retryable server-side failure (HTTP 500/502/503/504, RequestTimeout).
	OutcomeTransient Outcome = "transient"
	// OutcomeTimeout: the client gave up waiting (no response).
	OutcomeTimeout Outcome = "timeout"
	// OutcomeNonRetryable: any other error (bad request, access denied, not found).
	OutcomeNonRetryable Outcome = "non_retryable"
)

// Valid reports whether o is one of the defined outcomes.
func (o Outcome) Valid() bool {
	switch o {
	case OutcomeSuccess, OutcomeThrottled, OutcomeTransient, OutcomeTimeout, OutcomeNonRetryable:
		return true
	}
	return false
}

// parseOutcome maps the bytes of a native-format outcome to its constant without allocating.
func parseOutcome(b []byte) (Outcome, bool) {
	switch string(b) {
	case "success":
		return OutcomeSuccess, true
	case "throttled":
		return OutcomeThrottled, true
	case "transient":
		return OutcomeTransient, true
	case "timeout":
		return OutcomeTimeout, true
	case "non_retryable":
		return OutcomeNonRetryable, true
	}
	return "", false
}
