package trace_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tollgate/tollgate/simulate/trace"
)

// Write records in the native format and read them back.
func Example() {
	var buf bytes.Buffer
	w := trace.NewWriter(&buf)
	start := time.Date(2025, 3, 14, 9, 26, 53, 123e6, time.UTC)
	for i, outcome := range []trace.Outcome{trace.OutcomeSuccess, trace.OutcomeThrottled} {
		rec := trace.Record{
			Time: start.Add(time.Duration(i) * time.Second), Service: "EC2", Operation: "DescribeInstances",
			Region: "us-east-1", Outcome: outcome, Status: 200, Latency: 12500 * time.Microsecond,
		}
		if outcome == trace.OutcomeThrottled {
			rec.ErrorCode, rec.Status = "RequestLimitExceeded", 503
		}
		if err := w.Write(&rec); err != nil {
			panic(err)
		}
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}
	fmt.Print(buf.String())

	r := trace.NewReader(&buf, "example.jsonl")
	var rec trace.Record
	for r.Read(&rec) == nil {
		fmt.Println(rec.Time.Format(time.StampMilli), rec.Operation, rec.Outcome, rec.Latency)
	}
	// Output:
	// {"time":"2025-03-14T09:26:53.123Z","service":"EC2","operation":"DescribeInstances","region":"us-east-1","outcome":"success","status":200,"latency_ms":12.5}
	// {"time":"2025-03-14T09:26:54.123Z","service":"EC2","operation":"DescribeInstances","region":"us-east-1","outcome":"throttled","error_code":"RequestLimitExceeded","status":503,"latency_ms":12.5}
	// Mar 14 09:26:53.123 DescribeInstances success 12.5ms
	// Mar 14 09:26:54.123 DescribeInstances throttled 12.5ms
}

// Import an S3 server access log: the records come out sorted by time, and the report says
// what was skipped and where.
func ExampleImport() {
	var out bytes.Buffer
	rep, err := trace.Import(context.Background(), []string{"testdata/s3/access.log"}, trace.FormatAuto, &out)
	if err != nil {
		panic(err)
	}
	first, _, _ := strings.Cut(out.String(), "\n")
	fmt.Println(first)
	rep.WriteText(os.Stdout)
	// Output:
	// {"time":"2019-02-06T00:00:37Z","service":"S3","operation":"ListObjectsV2","region":"us-west-1","resource":"amzn-s3-demo-bucket1","outcome":"success","status":200,"latency_ms":40,"client":"p-5778c30d3fe8"}
	// 7 records written from 1 file (s3-access-log 1); 5 skipped
	//   bad key encoding (kept)            1 kept    first: trace: testdata/s3/access.log:12: field "Key": "bad%zzkey" is not valid URL encoding of UTF-8; kept as logged
	//   bad time                           1 skipped first: trace: testdata/s3/access.log:9: field "Time": "31/Feb/2019:00:01:03 +0000" is not [dd/Mon/yyyy:HH:MM:SS ±hhmm]
	//   malformed line                     2 skipped first: trace: testdata/s3/access.log:8: 7 fields, want at least 17
	//   not an API call                    1 skipped first: trace: testdata/s3/access.log:11: field "Operation": S3.EXPIRE.OBJECT is not an API call
	//   part of another call               1 skipped first: trace: testdata/s3/access.log:4: field "Operation": REST.COPY.OBJECT_GET is part of another call
	//   unknown operation (kept)           1 kept    first: trace: testdata/s3/access.log:10: field "Operation": REST.GET.FUTURE_THING is not in the operation table; kept as is
}

// Merge two time-ordered traces into one, as a replay of several clients would.
func ExampleMerge() {
	a := `{"time":"2025-03-14T09:00:00Z","service":"S3","operation":"GetObject","outcome":"success","client":"a"}
{"time":"2025-03-14T09:00:02Z","service":"S3","operation":"GetObject","outcome":"throttled","error_code":"SlowDown","client":"a"}`
	b := `{"time":"2025-03-14T09:00:01Z","service":"S3","operation":"PutObject","outcome":"success","client":"b"}`
	src := trace.Merge(trace.NewReader(strings.NewReader(a), "a.jsonl"), trace.NewReader(strings.NewReader(b), "b.jsonl"))
	var rec trace.Record
	for {
		if err := src.Read(&rec); err == io.EOF {
			break
		} else if err != nil {
			panic(err)
		}
		fmt.Println(rec.Time.Format(time.TimeOnly), rec.Client, rec.Operation, rec.Outcome)
	}
	// Output:
	// 09:00:00 a GetObject success
	// 09:00:01 b PutObject success
	// 09:00:02 a GetObject throttled
}
