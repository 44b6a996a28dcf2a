// Package trace reads, writes and imports the request traces that tollgate's simulator
// replays: one record per AWS API request, with its time, what it called, and how it ended.
//
// Traces are streamed. Every reader returns one record at a time through the Source
// interface, reading a trace in memory that does not grow with its length; Import sorts in
// bounded memory by spilling sorted runs to temporary files.
//
// # Native format (JSON Lines)
//
// A trace is a text file of JSON objects, one per line, in time order (Import writes them so;
// readers do not check the order: InOrder does, putting records that are a little out of
// order back in order and stopping with an *OrderError, which names the line, at a record too
// late for that). Example:
//
//	{"time":"2025-03-14T09:26:53.123Z","service":"EC2","operation":"DescribeInstances","region":"us-east-1","outcome":"throttled","error_code":"RequestLimitExceeded","status":503,"latency_ms":12.5,"client":"c1"}
//	{"time":"2025-03-14T09:26:53.2Z","service":"S3","operation":"GetObject","region":"us-west-2","resource":"my-bucket","key":"logs/2025/a.gz","outcome":"success","status":200,"latency_ms":31}
//
// Fields:
//
//	time        string, required. RFC 3339 with optional fraction (up to nanoseconds) and a
//	            "Z" or "±hh:mm" offset; read as UTC, written in UTC with "Z".
//	service     string, required. The AWS SDK for Go v2 ServiceID: "EC2", "S3", "DynamoDB",
//	            "KMS", "Lambda", "STS", "IAM", "CloudWatch Logs", ...
//	operation   string, required. The API operation as the SDK names it: "DescribeInstances".
//	region      string. The AWS Region code: "us-east-1".
//	resource    string. The partition the request is charged to: the S3 bucket, the DynamoDB
//	            table, the Lambda function.
//	key         string. The S3 object key (decoded). The replay derives S3 prefix partitions
//	            from it.
//	outcome     string, required. One of "success", "throttled", "transient", "timeout",
//	            "non_retryable".
//	error_code  string. The AWS error code as AWS spells it: "SlowDown",
//	            "RequestLimitExceeded" (never EC2's "Client." prefix).
//	status      integer in [0, 999]. The HTTP status; absent or 0 if unknown.
//	latency_ms  number >= 0. How long the request took, in milliseconds; nanosecond precision
//	            is kept (six fractional digits).
//	units       integer >= 0. Resources the request acted on (EC2 RunInstances: instances).
//	client      string. An opaque identifier of the caller (see ClientID).
//
// Field names are case-sensitive and may come in any order; a repeated field takes its last
// value. null, and "" for a string, mean the field is absent. Unknown fields are ignored,
// whatever their value, so that traces can carry extra data. A known field must hold the type
// above: a record is a flat object. Writers emit the fields in the order above and omit
// absent ones; strings are escaped as JSON requires and invalid UTF-8 becomes U+FFFD (as in
// encoding/json), so a trace written by Writer reads back unchanged. Blank lines are ignored.
//
// # CSV
//
// The same fields as CSV columns, with a header row naming them. Columns may come in any
// order; time, service, operation and outcome are required; columns with other names are
// ignored (CSVReader.IgnoredColumns lists them). An empty cell is an absent value. CSVWriter
// writes all twelve columns in the order above.
//
// # Importers
//
// S3AccessLogReader reads Amazon S3 server access logs and CloudTrailReader reads CloudTrail
// log files; both turn AWS's records into trace records, skipping what is not an API call.
// Open opens any of the formats, gzip-compressed or not (recognised by magic bytes), and
// detects the format from the content. Import converts files and directory trees to one
// native trace sorted by time; it backs the "tollgate import" command. The tables that map
// S3 log operations and CloudTrail event sources to SDK names are the embedded files
// s3_operations.csv and event_sources.csv, each row with its source.
//
// # Errors
//
// Readers never panic on bad input and never drop it silently. A line or record they cannot
// use is returned as an *InputError naming the file, line and field
// (trace: access.log:9: field "Time": ...) with a Reason used to count it, and the next Read
// continues after it; in a CloudTrail file, which holds its records on one line, it names the
// record too (trace: trail.json:1: record 2: field "eventTime": ...). Import counts these by
// reason in its Report, with the first occurrence of each; a record a trace cannot hold (the
// zero time, 0001-01-01T00:00:00Z, which stands for a missing one) is such an error, never the
// end of the import. Any other error from a reader (an I/O error, a corrupt gzip stream:
// *ReadError) is fatal for that input.
//
// # Bounds
//
// A line is at most MaxLineBytes (1 MiB; a longer one is skipped); a line that has not ended
// after 64 MiB ends its file (an input that is no trace, such as /dev/zero, is given up rather
// than read for ever). Import honours its context between records, at every bad input and
// between the passes of its merge sort.
package trace
