// Package emulator serves AWS-compatible responses on a loopback address and throttles them
// like AWS, so the real aws-sdk-go-v2 clients — and code built on them, with or without
// tollgate's middleware — meet real RequestLimitExceeded, SlowDown,
// ProvisionedThroughputExceededException, ThrottlingException, TooManyRequestsException and
// Throttling errors without an AWS account.
//
// # What is emulated
//
// One listener serves six services, each in its own wire protocol:
//
//	EC2       ec2query    DescribeInstances, RunInstances, TerminateInstances, CreateTags
//	S3        restXml     PutObject, GetObject (incl. Range), HeadObject, DeleteObject,
//	                      ListObjectsV2, CreateBucket, HeadBucket — path-style only
//	DynamoDB  awsJson1.0  GetItem, PutItem (attribute_[not_]exists conditions), Query (key
//	                      conditions, Limit, ExclusiveStartKey, ScanIndexForward, projections)
//	KMS       awsJson1.1  Encrypt, Decrypt, GenerateDataKey, DescribeKey
//	Lambda    restJson1   Invoke (echoes the payload), GetFunction
//	STS       awsQuery    GetCallerIdentity
//
// State lives in memory. S3 objects keep their bytes exactly, and the full-object checksum the
// client sent (CRC32, CRC32C, CRC64NVME, SHA1, SHA256, SHA512 or MD5), verified and returned;
// EC2 instances move from running to terminated; DynamoDB items are kept per table. Buckets,
// tables, KMS keys and Lambda functions exist on first use. DynamoDB tables have the key schema
// given in Options.Tables, or DefaultTableSchema (partition key "pk", sort key "sk"). Any KMS key
// ID, key ARN or alias names a symmetric key derived from the seed; ciphertexts are AES-GCM
// sealed and bound to their encryption context.
//
// An operation the emulator does not implement gets its protocol's own error for unknown
// operations (EC2 and STS InvalidAction, DynamoDB and KMS UnknownOperationException, Lambda
// UnknownOperationException 404, S3 NotImplemented 501); malformed requests get the protocol's
// validation errors (SerializationException, ValidationException, InvalidParameterValue,
// MalformedQueryString, InvalidArgument, ...). Handlers never panic on bad input.
//
// # What is not emulated
//
// Signatures are not verified: any access key and secret are accepted, which is why the
// emulator refuses non-loopback listen addresses unless Options.AllowRemote is set. There is no
// IAM, no persistence, no virtual-hosted S3 addressing, no multipart upload, no secondary
// indexes, filter or update expressions, no Lambda code execution (Invoke echoes its payload)
// and no asymmetric KMS keys.
//
// # Throttling
//
// Every request is decided by a server.Model, shared with tollgate's simulator: fault windows
// first, then AWS's token buckets from the limiter package (limiter.DefaultRules, or
// Options.Rules, e.g. from LoadRules which merges a rules file over the defaults). A request
// takes its tokens at once or is throttled; it never queues. Buckets are per account (one
// emulator is one account), per Region (from the request's SigV4 credential scope) and per API
// as AWS documents them: EC2 per action (DescribeInstances with a filter or pagination 100 /
// 20 per s, without either 50 / 10 per s; RunInstances 5 / 2 per s plus 1000 / 2 per s
// instances), S3 per partitioned prefix (5,500 reads and 3,500 writes per second; a new hot
// prefix shares its bucket's parent partition and gets SlowDown until a split, see
// server.Partitions), DynamoDB per table, KMS's shared cryptographic quota, Lambda's invocation
// and GetFunction quotas. AWS publishes no STS quota, so STS is throttled only by rules you add.
//
// Throttles are answered exactly as AWS answers them: EC2 503 RequestLimitExceeded (ec2query
// body with RequestID); S3 503 SlowDown with x-amz-request-id and x-amz-id-2 (HEAD: no body, so
// SDKs report ServiceUnavailable, as against AWS); DynamoDB 400
// ProvisionedThroughputExceededException with ThrottlingReasons and a correct x-amz-crc32; KMS
// 400 ThrottlingException; Lambda 429 TooManyRequestsException with X-Amzn-ErrorType,
// Retry-After and Reason; STS 400 Throttling in an awsQuery ErrorResponse. Fault windows in
// error mode answer HTTP 500 with the service's internal error code (EC2 and S3 InternalError,
// STS InternalFailure, DynamoDB InternalServerError, KMS KMSInternalException, Lambda
// ServiceException). Every response carries a request ID in the protocol's header
// (x-amzn-RequestId, S3 x-amz-request-id) and, where the protocol has one, in the body.
//
// # Connecting the SDK clients
//
// Give every client the emulator's URL as BaseEndpoint, static credentials and a Region; S3 also
// needs path-style addressing:
//
//	cfg, err := config.LoadDefaultConfig(ctx,
//		config.WithRegion("us-east-1"),
//		config.WithBaseEndpoint(e.URL()), // e.g. "http://127.0.0.1:4599"
//		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
//	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
//	ec2c := ec2.NewFromConfig(cfg)
//	ddb := dynamodb.NewFromConfig(cfg) // x-amz-crc32 is correct: keep checksum validation on
//	kmsc, fn, stsc := kms.NewFromConfig(cfg), lambda.NewFromConfig(cfg), sts.NewFromConfig(cfg)
//
// The environment works too: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_REGION. Requests are routed by shape: X-Amz-Target (DynamoDB_20120810.*, TrentService.*),
// form-encoded POSTs by their Version (EC2 2016-11-15, STS 2011-06-15, else the SigV4 scope's
// service), /2015-03-31/functions/... to Lambda, everything else to S3.
//
// # Running it
//
// From Go (tests, examples, tollgate load):
//
//	e, err := emulator.New(emulator.Options{Latency: 5 * time.Millisecond})
//	if err != nil { ... }
//	if err := e.Start(ctx); err != nil { ... } // on 127.0.0.1:<free port>, unless Listen chose an address
//	defer e.Close()
//	cfg.BaseEndpoint = aws.String(e.URL())
//
// From the command line: tollgate emulate --listen 127.0.0.1:4599 [--rules FILE]
// [--faults FILE] [--latency 5ms]. Options.Clock lets tests drive the token buckets with a
// manual clock; Options.Seed makes jitter, request IDs and KMS material reproducible.
//
// # Fault schedules
//
// Options.Faults (tollgate emulate --faults FILE) holds windows, timed from the moment the
// emulator starts serving, in which an API throttles every request or answers HTTP 500. The
// file is YAML (server.ParseFaults):
//
//	windows:
//	  - service: ec2                 # ec2, s3, dynamodb, kms, lambda, sts, or "*"
//	    operation: DescribeInstances # optional: one operation; default all
//	    region: us-east-1            # optional: one Region; default all
//	    start: 30s                   # offset from the start of serving
//	    duration: 10s                # how long the window lasts
//	    every: 2m                    # optional: repeat period
//	    mode: throttle               # throttle | error
//
// # Limits
//
// The emulator keeps its state in the memory of the process that runs it, so it bounds what a
// client — careless, slow or hostile — can make it hold, as a real server does, and answers
// what it refuses in the addressed protocol's own wire format (Options; 0 means the default):
//
//	MaxObjectSize     64 MiB   largest S3 object (S3: 5 GiB): 400 EntityTooLarge with
//	                           ProposedSize and MaxSizeAllowed, before any of the body is read
//	                           when the size is declared (Content-Length,
//	                           x-amz-decoded-content-length), else as soon as it is passed
//	MaxStoreSize      256 MiB  all S3 object data, uploads in progress included: 507
//	                           InsufficientCapacity (the code of S3 on Outposts and FSx access
//	                           points when full); an upload needs room for itself while the
//	                           object it replaces is still stored
//	MaxRequestMemory  256 MiB  the other request bodies held at once: the service's HTTP 500
//	                           internal error, which SDKs retry; awsJson bodies over 16 MiB get
//	                           413 RequestEntityTooLargeException, Lambda payloads over 6 MiB
//	                           413 RequestTooLargeException, form bodies over 1 MiB the query
//	                           protocol's MalformedQueryString
//	MaxConnections    4096     connections served at once; more are closed as soon as they are
//	                           accepted (clients see a reset, which SDKs retry)
//	ReadHeaderTimeout 10 s     to send a request's headers
//	BodyIdleTimeout   20 s     the longest pause in a body (S3 answers 400 RequestTimeout after
//	                           about as long; the emulator does too, awsJson 408
//	                           RequestTimeoutException)
//	ReadTimeout       2 min    to send a whole request
//	WriteTimeout      2 min    to serve a request and write its response
//	IdleTimeout       30 s     a keep-alive connection without a new request
//
// Memory follows the bytes that arrive, never a size a client merely declares: an aws-chunked
// body with a chunk header of "fffffff" and no data costs a few kilobytes, not 256 MiB. The
// framing of aws-chunked bodies is bounded too (a chunk header or trailer line of at most
// 4 KiB, at most 32 trailers). A connection costs about 20 KiB while it is open (2,000 idle
// and slow connections: about 40 MiB), so the defaults bound the connections' memory to about
// 100 MiB besides the bodies. The timeouts apply when the emulator serves its own listener
// (Start); mounted as an http.Handler, it is served by its caller's http.Server and timeouts,
// except BodyIdleTimeout, which needs only http.ResponseController support.
//
// # Metrics
//
// GET /metrics (without an Authorization header) serves the emulator's own Prometheus registry:
//
//	tollgate_emulator_requests_total{aws_service="EC2",operation="DescribeInstances",result="throttled"}
//
// with result accepted, throttled or failed. Unimplemented operations are counted as operation
// "unknown"; no label carries a bucket, table, key, function or account.
package emulator
