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
//     deadline or the limiter's maximum wait is refused at once; after a wait the reservation
//     is confirmed (a rate cut meanwhile may move it back or refuse it). The attempt's outcome
//     is classified and fed back to the limiter — a throttle with its x-amz-retry-after or
//     Retry-After hint, or a success — which learns the API's real rate from it (see the
//     limiter package, "Adaptive rates"), and to the observer.
//
// # Errors
//
// Client-side refusals are typed and say so: *limiter.RefusedError when the limiter cannot admit
// an attempt in time (naming the SDK operation, and in Variant the limiter's variant that chose
// the bucket), *backoff.RetryRefusedError when the retry budget is exhausted or the backoff
// would end after the deadline (wrapping the service's last error), *BodyNotSeekableError when a
// retryable failure cannot be retried because the request body cannot be sent again. A call
// that used all its attempts ends with the SDK's own *retry.MaxAttemptsError. Both sit under the
// SDK's *smithy.OperationError, so errors.As finds them, and the service error, through it.
//
// # Retries as the SDK does them
//
// tollgate's retryer gives the same verdict as the SDK's standard retryer (aws-sdk-go-v2 v1.48,
// retry.DefaultRetryables and retry.DefaultThrottles) on every failure the SDK can meet, except
// the few listed in the next section: the 14 throttle codes and unmodeled HTTP 429 are throttles
// (1 s base); RequestTimeout(Exception) and HTTP 500, 502, 503, 504 are transient (the service's
// transient base); a 429 that the SDK deserialized to a modeled, non-throttle error is not
// retried. Attempts that got no response are classified by what went wrong below HTTP — smithy-go
// gives such an error an empty placeholder response (status 0), which tollgate reads as "no
// response": a reset, a connection closed before the status line, a refused connection, a TLS
// handshake reset or alert, a DNS failure other than NXDOMAIN, a malformed response are
// transient; a dial, TLS, header, read (the SDK's BuildableClient.WithReadTimeout) or
// http.Client timeout is a timeout (retried like a transient failure); a DNS NXDOMAIN is not
// retried. A response whose body was cut off — reset, read timeout, or a clean close before its
// Content-Length — is retried. Clock-skew errors are retried when the SDK corrects its clock
// (its decision, made on its own marked error); a cancelled context or the caller's passed
// deadline ends the call. TestDifferentialCatalogue checks all of this with real clients of each
// protocol family (ec2query EC2, awsQuery STS, restXml S3, awsJson1.0 DynamoDB, awsJson1.1
// KMS, restJson1 Lambda) on real sockets, against the SDK on the same error values.
//
// Services whose SDK clients set their own retry defaults get them from tollgate too:
// DynamoDB and DynamoDB Streams make 4 attempts with a 25 ms transient base (see
// ServiceRetryDefaults; the table is data/service_retry_defaults.csv, with its source). A
// Config.Policy that sets MaxAttempts or Backoff.TransientBase overrides them for every
// service; a RetryMaxAttempts option on the SDK config, client or call overrides MaxAttempts, as
// in the SDK. tollgate counts attempts per call — its retryer reports MaxAttempts() = 0 to the
// SDK, which cannot tell it the service — completes the amz-sdk-request header with the
// call's maximum, and ends a call that used them all with the SDK's *retry.MaxAttemptsError.
//
// A retried upload resends the same bytes: the SDK rewinds a seekable body (and recomputes an
// aws-chunked trailing checksum) for every attempt. A body that is not an io.Seeker cannot be
// resent: when such a call fails retryably, tollgate stops at once with a *BodyNotSeekableError
// instead of backing off and then failing to rewind.
//
// # Where tollgate retries differently from the SDK
//
// On purpose, and nowhere else (the first column names the case in TestDifferentialCatalogue):
//
//	closed mid-body (short body)  tollgate retries, the SDK does not: a 200 whose body ends before its Content-Length was cut off in transit; the SDK retries a cut-off body only when the error text says "connection reset"
//	TLS certificate not trusted   tollgate does not retry, the SDK does: an untrusted, expired or misnamed certificate comes back on every attempt, so retrying only spends time and budget
//	400 InternalError             tollgate retries whatever the status, the SDK only a 5xx: AWS lists InternalError as transient, and S3 sends it inside a 200 (CopyObject, CompleteMultipartUpload)
//	400 InternalFailure           tollgate retries whatever the status, the SDK only a 5xx: AWS's common InternalFailure error is a server-side fault
//	400 ServiceUnavailable        tollgate retries whatever the status, the SDK only a 503: AWS's common ServiceUnavailable error is transient
//	400 IDPCommunicationError     tollgate retries it in every client, the SDK only in its STS client (retry.AddWithErrorCodes): AWS's retry guide lists it as transient
//
// The error-code classes come from package backoff's embedded table (backoff/data/error_codes.csv);
// backoff.WithCodes and WithoutCodes change them.
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
// waited and refused, an adaptive rate cut or grown (RateChanged), budget level). With no
// observer no event is built.
//
// # Raw HTTP
//
// NewRoundTripper applies the same policies to presigned S3 URLs and hand-signed calls: it finds
// the API from the request (IdentifyRequest), classifies failures from S3's XML error bodies and
// JSON error types, honours Retry-After, and re-reads bodies through Request.GetBody — a body
// that cannot be rewound is never retried truncated (*BodyNotRewindableError).
package middleware
