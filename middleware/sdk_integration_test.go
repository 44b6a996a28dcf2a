package middleware

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/emulator"
	"github.com/tollgate/tollgate/simulate/server"
)

func faults(t *testing.T, yaml string) *server.FaultSchedule {
	t.Helper()
	fs, err := server.ParseFaults("test-faults.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func mustNew(t *testing.T, cfg Config) *Tollgate {
	t.Helper()
	tg, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func s3Client(tg *Tollgate, endpoint string, hc aws.HTTPClient) *s3.Client {
	return s3.NewFromConfig(awsConfig(endpoint, hc), func(o *s3.Options) {
		o.UsePathStyle = true
		if tg != nil {
			o.Retryer = tg.NewRetryer()
			o.APIOptions = append(o.APIOptions, tg.AddToStack)
		}
	})
}

func ddbClient(tg *Tollgate, endpoint string, hc aws.HTTPClient) *dynamodb.Client {
	return dynamodb.NewFromConfig(awsConfig(endpoint, hc), func(o *dynamodb.Options) {
		if tg != nil {
			o.Retryer = tg.NewRetryer()
			o.APIOptions = append(o.APIOptions, tg.AddToStack)
		}
	})
}

// A PutObject throttled with SlowDown is retried — the SDK rewinds the body — and the object
// stored is byte-identical to what was sent. The amz-sdk-request header counts the attempts.
func TestS3PutRetriedAfterSlowDownStoresIdenticalBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emu := newEmulator(t, emulator.Options{Seed: 4, Faults: faults(t, `
windows:
  - service: s3
    operation: PutObject
    start: 0s
    duration: 1500ms
    mode: throttle
`)})
		hc := newHandlerClient(emu)
		hc.record = true
		rec := &recorder{}
		tg := mustNew(t, Config{Policy: backoff.Policy{MaxAttempts: 10}, Seed: 5, Observer: rec})
		client := s3Client(tg, "http://emulator.test", hc)

		body := make([]byte, 256<<10)
		rand.NewChaCha8([32]byte{1, 2}).Read(body)
		ctx := context.Background()
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("data")}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String("data"), Key: aws.String("hot/object.bin"), Body: bytes.NewReader(body),
		}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		slowDowns := 0
		for _, e := range rec.kinds(event.AttemptFinished) {
			if e.Operation == "PutObject" && e.Outcome == backoff.Throttle {
				if e.ErrorCode != "SlowDown" || e.Status != 503 {
					t.Errorf("throttle %+v: want SlowDown/503", e)
				}
				slowDowns++
			}
		}
		if slowDowns == 0 {
			t.Fatal("PutObject was never throttled: the test does not exercise the retry")
		}
		got, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("hot/object.bin")})
		if err != nil {
			t.Fatal(err)
		}
		stored, err := io.ReadAll(got.Body)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(stored, body) {
			t.Fatalf("stored %d bytes differ from the %d sent", len(stored), len(body))
		}
		// amz-sdk-request: the SDK's retry machinery still numbers the attempts.
		var attempts []string
		for _, h := range hc.headers {
			if v := h.Get("Amz-Sdk-Request"); strings.HasPrefix(v, "attempt=") {
				attempts = append(attempts, v)
			}
		}
		want := fmt.Sprintf("attempt=%d; max=10", slowDowns+1)
		found := false
		for _, a := range attempts {
			found = found || a == want
		}
		if !found {
			t.Errorf("amz-sdk-request headers %q lack %q", attempts, want)
		}
		t.Logf("PutObject of %d bytes: %d SlowDown then success", len(body), slowDowns)
	})
}

// A body that cannot be rewound (not an io.Seeker) is refused by the SDK before anything is
// sent over plain HTTP — never sent truncated.
func TestS3UnseekableBodyFailsClearly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emu := newEmulator(t, emulator.Options{Seed: 4})
		hc := newHandlerClient(emu)
		tg := mustNew(t, Config{Seed: 5})
		client := s3Client(tg, "http://emulator.test", hc)
		_, err := client.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String("data"), Key: aws.String("x"),
			Body: io.MultiReader(strings.NewReader("not seekable")),
		})
		if err == nil {
			t.Fatal("PutObject with an unseekable body over HTTP succeeded")
		}
		if hc.total() != 0 {
			t.Fatalf("%d requests reached the server", hc.total())
		}
		if !strings.Contains(err.Error(), "not seekable") {
			t.Errorf("error does not say why: %v", err)
		}
	})
}

// Non-retryable errors — ValidationException from DynamoDB, AccessDenied from S3 — are returned
// after one attempt.
func TestNonRetryableErrorsAreNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emu := newEmulator(t, emulator.Options{Seed: 4})
		hc := newHandlerClient(emu)
		rec := &recorder{}
		tg := mustNew(t, Config{Seed: 5, Observer: rec})
		_, err := ddbClient(tg, "http://emulator.test", hc).GetItem(context.Background(), &dynamodb.GetItemInput{
			TableName: aws.String("orders"),
			Key:       map[string]ddbtypes.AttributeValue{"wrong": &ddbtypes.AttributeValueMemberS{Value: "a"}},
		})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ValidationException" {
			t.Fatalf("want ValidationException, got %v", err)
		}
		if n := hc.total(); n != 1 {
			t.Errorf("ValidationException: %d attempts, want 1", n)
		}
		if n := len(rec.kinds(event.BackoffScheduled)); n != 0 {
			t.Errorf("%d backoffs scheduled for a non-retryable error", n)
		}
	})

	// S3 AccessDenied, in S3's exact wire format, from a fixture server on loopback.
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("x-amz-request-id", "0123456789ABCDEF")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>0123456789ABCDEF</RequestId><HostId>aG9zdA==</HostId></Error>`)
	}))
	defer srv.Close()
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	tg := mustNew(t, Config{Seed: 5})
	_, err := s3Client(tg, srv.URL, &http.Client{Transport: transport}).GetObject(context.Background(),
		&s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Fatalf("want AccessDenied, got %v", err)
	}
	if hits != 1 {
		t.Errorf("AccessDenied: %d attempts, want 1", hits)
	}
}

// A ctx deadline shorter than the limiter's wait returns at once, with the typed client-side
// error, and sends nothing.
func TestDeadlineShorterThanLimiterWaitReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emu := newEmulator(t, emulator.Options{Seed: 4})
		hc := newHandlerClient(emu)
		lim := limiter.New(mustRules(t, tinyGetItemRules)) // client side: 1 burst, 1/s
		tg := mustNew(t, Config{Limiter: lim, Seed: 5})
		client := ddbClient(tg, "http://emulator.test", hc)
		get := func(ctx context.Context) error {
			_, err := client.GetItem(ctx, &dynamodb.GetItemInput{
				TableName: aws.String("orders"),
				Key: map[string]ddbtypes.AttributeValue{
					"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "1"}},
			})
			return err
		}
		if err := get(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := get(ctx)
		elapsed := time.Since(start)
		var refused *limiter.RefusedError
		if !errors.As(err, &refused) {
			t.Fatalf("want *limiter.RefusedError, got %v", err)
		}
		var opErr *smithy.OperationError
		if !errors.As(err, &opErr) || opErr.Operation() != "GetItem" {
			t.Errorf("the SDK's OperationError wrapping is lost: %T %v", err, err)
		}
		if refused.Reason != limiter.RefusedDeadline || refused.Rule != "ddb-getitem-tiny" || refused.Wait < 900*time.Millisecond {
			t.Errorf("refusal %+v: want deadline, rule ddb-getitem-tiny, wait ≈1s", refused)
		}
		if elapsed != 0 {
			t.Errorf("refusal took %v of (virtual) time; want at once", elapsed)
		}
		if hc.total() != 1 {
			t.Errorf("%d requests sent, want only the first call's", hc.total())
		}
		if !strings.Contains(err.Error(), "client-side") {
			t.Errorf("message does not say client-side: %v", err)
		}
	})
}

// A retry whose backoff would end after the call's deadline is refused at once with
// *backoff.RetryRefusedError (reason deadline) wrapping the service's last error.
func TestDeadlineShorterThanBackoffReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emu := newEmulator(t, emulator.Options{Seed: 4, Faults: faults(t, `
windows:
  - service: dynamodb
    start: 0s
    duration: 1h
    mode: throttle
`)})
		hc := newHandlerClient(emu)
		tg := mustNew(t, Config{Seed: 5, Policy: backoff.Policy{MaxAttempts: 20, Backoff: backoff.Backoff{Jitter: backoff.NoJitter}}})
		ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := ddbClient(tg, "http://emulator.test", hc).GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String("orders"),
			Key: map[string]ddbtypes.AttributeValue{
				"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "1"}},
		})
		elapsed := time.Since(start)
		var rr *backoff.RetryRefusedError
		if !errors.As(err, &rr) || rr.Reason != backoff.StopDeadline {
			t.Fatalf("want RetryRefusedError(deadline), got %v", err)
		}
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ProvisionedThroughputExceededException" {
			t.Errorf("refusal does not wrap the service error: %v", err)
		}
		// No jitter: 1 s, then 2 s would end at 3 s > 2.5 s: refused at t = 1 s, not at the deadline.
		if elapsed != time.Second || hc.total() != 2 {
			t.Errorf("refused after %v and %d attempts; want at 1s after 2 attempts", elapsed, hc.total())
		}
		if strings.Count(err.Error(), "ProvisionedThroughputExceededException") != 1 {
			t.Errorf("error repeats or loses the service error: %v", err)
		}
	})
}

// When tollgate's budget is exhausted the caller gets *backoff.RetryRefusedError — a client-side
// refusal that says so — never the SDK's "retry quota exceeded".
func TestBudgetExhaustedIsTypedAndClientSide(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emu := newEmulator(t, emulator.Options{Seed: 4, Faults: faults(t, `
windows:
  - service: dynamodb
    start: 0s
    duration: 1h
    mode: throttle
`)})
		hc := newHandlerClient(emu)
		budget := backoff.NewTokenQuota(backoff.TokenQuotaConfig{Capacity: 12})
		tg := mustNew(t, Config{Seed: 5, Policy: backoff.Policy{MaxAttempts: 10, Budget: budget}})
		_, err := ddbClient(tg, "http://emulator.test", hc).GetItem(context.Background(), &dynamodb.GetItemInput{
			TableName: aws.String("orders"),
			Key: map[string]ddbtypes.AttributeValue{
				"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "1"}},
		})
		var rr *backoff.RetryRefusedError
		if !errors.As(err, &rr) || rr.Reason != backoff.StopBudget || rr.Budget != "aws-retry-quota" || rr.Available != 2 || rr.Needed != 5 {
			t.Fatalf("want budget refusal with 2 left and 5 needed, got %#v", err)
		}
		msg := err.Error()
		if strings.Contains(msg, "retry quota exceeded") || !strings.Contains(msg, "client-side retry budget") {
			t.Errorf("message: %s", msg)
		}
		if hc.total() != 3 {
			t.Errorf("%d attempts, want 3 (two retries paid with 10 of 12 tokens)", hc.total())
		}
	})
}

// The SDK's clock-skew correction still works through tollgate's retryer: a RequestTimeTooSkewed
// answer with a Date 10 minutes ahead is retried, and the retry is signed with the corrected time.
func TestClockSkewCorrectionStillWorks(t *testing.T) {
	var dates []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dates = append(dates, r.Header.Get("X-Amz-Date"))
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if len(dates) == 1 {
			w.Header().Set("Date", time.Now().Add(10*time.Minute).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"com.amazon.coral.service#InvalidSignatureException","message":"Signature expired"}`)
			return
		}
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	tg := mustNew(t, Config{Seed: 5, Policy: backoff.Policy{Backoff: backoff.Backoff{TransientBase: time.Millisecond}}})
	_, err := ddbClient(tg, srv.URL, &http.Client{Transport: transport}).GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String("t"), Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}},
	})
	if err != nil {
		t.Fatalf("skewed call was not retried to success: %v", err)
	}
	if len(dates) != 2 {
		t.Fatalf("%d attempts, want 2", len(dates))
	}
	first, _ := time.Parse("20060102T150405Z", dates[0])
	second, _ := time.Parse("20060102T150405Z", dates[1])
	if skew := second.Sub(first); skew < 9*time.Minute || skew > 11*time.Minute {
		t.Errorf("retry signed at %s after %s: skew %v, want ≈10m", dates[1], dates[0], skew)
	}
}
