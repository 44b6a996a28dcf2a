// Package middleware plugs tollgate into any aws-sdk-go-v2 client: per-API client-side rate
// limits shaped like AWS's quotas, and retries with tollgate's backoff, error classes, server
// hints and retry budget.
//
// # Installing
//
// For every client made from a config, one option:
//
//	tg, err := middleware.New(middleware.Config{Limiter: limiter.New(limiter.DefaultRules())})
//	cfg, err := config.LoadDefaultConfig(ctx, middleware.WithTollgate(tg))
//
// For one client only, its retryer and its middleware:
//
//	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
//		o.Retryer = tg.NewRetryer()
//		o.APIOptions = append(o.APIOptions, tg.AddToStack)
//	})
//
// One Tollgate is meant to be shared by every client of a process: its limiter holds one bucket
// per API and partition, as AWS does per account and Region, and its budget bounds the retries
// of all of them.
//
// # What happens to a call
//
//   - Initialize step ("tollgate.Call", once per call): the limiter key is computed from the
//     service, operation and Region, and the partition from the input — the S3 bucket and key
//     prefix (PrefixScheme: first N path segments or first N characters), the DynamoDB
//     TableName, Lambda FunctionName, Kinesis StreamName, SQS QueueUrl. EC2's Describe calls
//     made with neither a filter nor pagination are keyed to their smaller "unfiltered" bucket.
//   - The SDK's own retry middleware ("Retry", Finalize step) runs the attempt loop as usual —
//     cloning and rewinding the request, the amz-sdk-request header, clock-skew correction,
//     sleeping — but every decision is tollgate's (see NewRetryer): whether an error is
//     retryable (package backoff's classes), whether the retry may happen (the policy: deadline,
//     maximum total delay, tollgate's budget; the SDK's retry quota is never used, so there are
//     never two budgets), and how long to wait (jitter, x-amz-retry-after and Retry-After).
//   - Finalize step, right after "Retry" ("tollgate.Attempt", once per attempt, retries
//     included because AWS counts them): the attempt takes its token from its API's bucket before
//     it is signed, so a wait never leaves a stale signature. A wait longer than the call's
//     deadline or the limiter's maximum wait is refused at once. The attempt's outcome is
//     classified and fed back to the limiter (throttled / succeeded) and to the observer.
//
// # Errors
//
// Client-side refusals are typed and say so: *limiter.RefusedError when the limiter cannot admit
// an attempt in time, *backoff.RetryRefusedError when the retry budget is exhausted or the
// backoff would end after the deadline (wrapping the service's last error). Both sit under the
// SDK's *smithy.OperationError, so errors.As finds them, and the service error, through it.
//
// # Partitions of other services
//
// Add a Partitioner to Config.Partitioners; it sees the operation's input:
//
//	func(service, op string, in any) middleware.Partition {
//		if in, ok := in.(*sfn.StartExecutionInput); ok && in.StateMachineArn != nil {
//			return middleware.Partition{Resource: *in.StateMachineArn}
//		}
//		return middleware.Partition{}
//	}
//
// and a limiter rule with `partition: resource` for that service.
//
// # Observing
//
// Config.Observer receives the event vocabulary of package event (call started and finished,
// attempt finished with its class and error code, backoff scheduled, retry refused, limiter
// waited and refused, budget level). With no observer no event is built.
//
// # Raw HTTP
//
// NewRoundTripper applies the same policies to presigned S3 URLs and hand-signed calls: it finds
// the API from the request (IdentifyRequest), classifies failures from S3's XML error bodies and
// JSON error types, honours Retry-After, and re-reads bodies through Request.GetBody — a body
// that cannot be rewound is never retried truncated (*BodyNotRewindableError).
package middleware
