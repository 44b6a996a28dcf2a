package middleware

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/simulate/emulator"
)

// RoundTrip lets a handlerClient serve as the RoundTripper under test.
func (c *handlerClient) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	return c.Do(req)
}

const putThrottleWindow = `
windows:
  - service: s3
    operation: PutObject
    start: 0s
    duration: 1500ms
    mode: throttle
`

// presign returns a presigned request for op ("GET" or "PUT") of bucket/key on the emulator.
func presign(t *testing.T, method, bucket, key string) (string, http.Header) {
	t.Helper()
	pc := s3.NewPresignClient(s3Client(nil, "http://emulator.test", newHandlerClient(http.NotFoundHandler())))
	var (
		url    string
		header http.Header
	)
	switch method {
	case http.MethodGet:
		r, err := pc.PresignGetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
		if err != nil {
			t.Fatal(err)
		}
		url, header = r.URL, r.SignedHeader
	case http.MethodPut:
		r, err := pc.PresignPutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key})
		if err != nil {
			t.Fatal(err)
		}
		url, header = r.URL, r.SignedHeader
	}
	return url, header
}

// A presigned PUT throttled with SlowDown is retried by the RoundTripper, re-reading the body
// through GetBody; a presigned GET returns the identical bytes. The caller's request is never
// modified, and the SlowDown code is read from S3's XML error body.
func TestRoundTripperPresignedPutAndGet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emu := newEmulator(t, emulator.Options{Seed: 4, Faults: faults(t, putThrottleWindow)})
		hc := newHandlerClient(emu)
		if _, err := s3Client(nil, "http://emulator.test", hc).CreateBucket(context.Background(),
			&s3.CreateBucketInput{Bucket: aws.String("data")}); err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		tg := mustNew(t, Config{Seed: 9, Observer: rec, Policy: backoff.Policy{MaxAttempts: 10}})
		client := &http.Client{Transport: tg.NewRoundTripper(hc, nil)}

		payload := bytes.Repeat([]byte("tollgate-"), 10_000)
		url, header := presign(t, http.MethodPut, "data", "logs/2026/a.bin")
		req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		before := req.Header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("presigned PUT: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("presigned PUT: status %d", resp.StatusCode)
		}
		if len(req.Header) != len(before) || req.Header.Get("Amz-Sdk-Request") != "" {
			t.Errorf("caller's request headers were modified: %v → %v", before, req.Header)
		}
		throttles := 0
		for _, e := range rec.kinds(event.AttemptFinished) {
			if e.Outcome == backoff.Throttle {
				throttles++
				if e.ErrorCode != "SlowDown" || e.Service != "S3" || e.Operation != "PutObject" || e.Region != "us-east-1" {
					t.Errorf("throttle event %+v", e)
				}
			}
		}
		if throttles == 0 {
			t.Fatal("the PUT was never throttled: the retry path is not exercised")
		}

		url, header = presign(t, http.MethodGet, "data", "logs/2026/a.bin")
		req, _ = http.NewRequest(http.MethodGet, url, nil)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err = client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(got, payload) {
			t.Fatalf("GET returned %d bytes, not the %d stored", len(got), len(payload))
		}
		t.Logf("presigned PUT: %d SlowDown then stored; GET identical", throttles)
	})
}

// A request whose body cannot be rewound is not retried with a truncated body: the caller gets
// *BodyNotRewindableError and the server saw exactly one PUT.
func TestRoundTripperBodyNotRewindable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emu := newEmulator(t, emulator.Options{Seed: 4, Faults: faults(t, putThrottleWindow)})
		hc := newHandlerClient(emu)
		tg := mustNew(t, Config{Seed: 9, Policy: backoff.Policy{MaxAttempts: 10}})
		client := &http.Client{Transport: tg.NewRoundTripper(hc, nil)}
		url, header := presign(t, http.MethodPut, "data", "k")
		req, _ := http.NewRequest(http.MethodPut, url, io.NopCloser(strings.NewReader("payload")))
		req.ContentLength = int64(len("payload"))
		req.GetBody = nil
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		var nr *BodyNotRewindableError
		if !errors.As(err, &nr) || nr.Status != 503 {
			t.Fatalf("want *BodyNotRewindableError after a 503, got %v", err)
		}
		if !strings.HasPrefix(nr.URL, "http://emulator.test/data/k?") || !strings.Contains(nr.URL, "X-Amz-Signature=REDACTED") ||
			strings.Contains(nr.Error(), "AKIDEXAMPLE") {
			t.Errorf("tollgate's error leaks the presigned query: %v", nr)
		}
		if n := hc.total(); n != 1 {
			t.Fatalf("server saw %d requests, want exactly 1", n)
		}
	})
}

// A hand-signed Lambda Invoke throttled with 429 and Retry-After: 1 waits at least the hinted
// second before retrying; a non-retryable answer comes back as the response itself.
func TestRoundTripperHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emu := newEmulator(t, emulator.Options{Seed: 4, Faults: faults(t, `
windows:
  - service: lambda
    operation: Invoke
    start: 0s
    duration: 500ms
    mode: throttle
`)})
		hc := newHandlerClient(emu)
		rec := &recorder{}
		tg := mustNew(t, Config{Seed: 9, Observer: rec, Policy: backoff.Policy{MaxAttempts: 5,
			Backoff: backoff.Backoff{ThrottleBase: 100 * time.Millisecond}}})
		client := &http.Client{Transport: tg.NewRoundTripper(hc, nil)}
		signer := v4.NewSigner()
		creds := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}
		payload := `{"hello":"world"}`
		req, _ := http.NewRequest(http.MethodPost, "http://emulator.test/2015-03-31/functions/my-fn/invocations", strings.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
		hash := "5f8c8b0e1e0e9b0b4b5e4a0a1f2d1d4c0e0f9f8e7d6c5b4a3928170615243342" // any: the emulator checks no signature
		if err := signer.SignHTTP(context.Background(), creds, req, hash, "lambda", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != payload {
			t.Fatalf("Invoke: %d %q", resp.StatusCode, body)
		}
		backoffs := rec.kinds(event.BackoffScheduled)
		if len(backoffs) == 0 {
			t.Fatal("no retry happened")
		}
		for _, b := range backoffs {
			if b.Duration < time.Second || b.Reason != "hinted" || b.Service != "Lambda" || b.Operation != "Invoke" {
				t.Errorf("backoff %+v: want ≥1s set by Retry-After", b)
			}
		}
		if elapsed := time.Since(start); elapsed < time.Second {
			t.Errorf("finished after %v, before the hinted second", elapsed)
		}

		// An unknown operation: returned as the response, body intact, after one attempt.
		req, _ = http.NewRequest(http.MethodGet, "http://emulator.test/2015-03-31/no-such-operation", nil)
		signer.SignHTTP(context.Background(), creds, req, hash, "lambda", "us-east-1", time.Now())
		n := hc.total()
		resp, err = client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 || len(body) == 0 || hc.total() != n+1 {
			t.Errorf("non-retryable answer: status %d body %q after %d attempts", resp.StatusCode, body, hc.total()-n)
		}
	})
}

func TestIdentifyRequest(t *testing.T) {
	mk := func(method, url string, hdr map[string]string) *http.Request {
		r, _ := http.NewRequest(method, url, nil)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		return r
	}
	auth := func(svc string) map[string]string {
		return map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/" + svc + "/aws4_request, SignedHeaders=host, Signature=abc"}
	}
	cases := []struct {
		req  *http.Request
		want RequestInfo
	}{
		{mk("GET", "https://data.s3.eu-west-1.amazonaws.com/logs/2026/a.gz?X-Amz-Credential=AKID%2F20260101%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Signature=x", nil),
			RequestInfo{Service: "S3", Operation: "GetObject", Region: "eu-west-1", Partition: Partition{"data", "logs/"}}},
		{mk("PUT", "http://127.0.0.1:4599/data/img/1.png?X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request", nil),
			RequestInfo{Service: "S3", Operation: "PutObject", Region: "us-east-1", Partition: Partition{"data", "img/"}}},
		{mk("PUT", "http://127.0.0.1:4599/data/copy", map[string]string{"X-Amz-Copy-Source": "/data/a", "Authorization": auth("s3")["Authorization"]}),
			RequestInfo{Service: "S3", Operation: "CopyObject", Region: "eu-west-1", Partition: Partition{"data", "copy"}}},
		{mk("GET", "http://127.0.0.1:4599/data?list-type=2", auth("s3")),
			RequestInfo{Service: "S3", Operation: "ListObjectsV2", Region: "eu-west-1", Partition: Partition{Resource: "data"}}},
		{mk("POST", "https://dynamodb.eu-west-1.amazonaws.com/", map[string]string{"X-Amz-Target": "DynamoDB_20120810.GetItem", "Authorization": auth("dynamodb")["Authorization"]}),
			RequestInfo{Service: "DynamoDB", Operation: "GetItem", Region: "eu-west-1"}},
		{mk("POST", "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/resize/invocations", auth("lambda")),
			RequestInfo{Service: "Lambda", Operation: "Invoke", Region: "eu-west-1", Partition: Partition{Resource: "resize"}}},
		{mk("GET", "https://ec2.eu-west-1.amazonaws.com/?Action=DescribeInstances&Version=2016-11-15", auth("ec2")),
			RequestInfo{Service: "EC2", Operation: "DescribeInstances", Region: "eu-west-1"}},
	}
	for _, c := range cases {
		if got := IdentifyRequest(c.req, DefaultPrefixScheme); got != c.want {
			t.Errorf("%s %s:\n got %+v\nwant %+v", c.req.Method, c.req.URL, got, c.want)
		}
	}
}

func TestResponseErrorCode(t *testing.T) {
	mk := func(hdr, body string) *http.Response {
		r := &http.Response{Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}
		if hdr != "" {
			r.Header.Set("X-Amzn-ErrorType", hdr)
		}
		return r
	}
	cases := []struct {
		resp *http.Response
		want string
	}{
		{mk("", `<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`), "SlowDown"},
		{mk("", `<Response><Errors><Error><Code>RequestLimitExceeded</Code></Error></Errors><RequestID>x</RequestID></Response>`), "RequestLimitExceeded"},
		{mk("", `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"x"}`), "ProvisionedThroughputExceededException"},
		{mk("TooManyRequestsException:http://internal.amazon.com/", `{"Type":"User"}`), "TooManyRequestsException"},
		{mk("", `{"code":"ThrottlingException"}`), "ThrottlingException"},
		{mk("", `not an error body`), ""},
	}
	for _, c := range cases {
		before := c.resp
		if got := responseErrorCode(c.resp); got != c.want {
			t.Errorf("code %q, want %q", got, c.want)
		}
		// The body is still whole for the caller.
		if b, _ := io.ReadAll(before.Body); len(b) == 0 {
			t.Error("body consumed")
		}
	}
}
