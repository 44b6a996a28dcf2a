package server

// Request is one API request as the server models see it: who is asking for what, and how many
// tokens it costs. The emulator builds one from each HTTP request; the simulator from each attempt.
type Request struct {
	// Region is the AWS Region the request is addressed to, e.g. "us-east-1".
	Region string
	// Service is the AWS SDK ServiceID, as in limiter rules: "EC2", "S3", "DynamoDB", "KMS",
	// "Lambda", "STS" (matched case-insensitively).
	Service string
	// Operation is the API operation, e.g. "DescribeInstances".
	Operation string
	// Resource names the throttled resource when the quota is per resource: the S3 bucket, the
	// DynamoDB table, the Lambda function. Empty for account-and-Region quotas.
	Resource string
	// Prefix is the S3 object key's partitioning prefix (see PrefixOf).
	Prefix string
	// Units is how many resources the request affects, charged to the rule of charge "units"
	// that matches it, if any, on top of its request bucket: the instances of an EC2
	// RunInstances, StartInstances, StopInstances or TerminateInstances call (AWS's resource
	// buckets), a DynamoDB request's capacity units. 0 means 1.
	Units int
	// Unfiltered marks an EC2 Describe call made with neither a filter nor pagination, which
	// AWS charges to the smaller "unfiltered and unpaginated" bucket
	// (limiter.UnfilteredOperation).
	Unfiltered bool
}

// Outcome is how a server answers a request.
type Outcome uint8

const (
	// Accepted: the request is served.
	Accepted Outcome = iota
	// Throttled: the request is refused with the service's throttling error.
	Throttled
	// Failed: the request is refused with the service's HTTP 500 internal error.
	Failed
)

// String returns "accepted", "throttled" or "failed".
func (o Outcome) String() string {
	switch o {
	case Throttled:
		return "throttled"
	case Failed:
		return "failed"
	default:
		return "accepted"
	}
}

// Verdict is a server model's decision about one request.
type Verdict struct {
	Outcome Outcome
	// Rule says what decided a refusal: the name of the limiter rule whose bucket was empty,
	// "fault" for a fault window, or "s3-partition" for an S3 partition that has not split yet.
	// Empty when the request was accepted.
	Rule string
}
