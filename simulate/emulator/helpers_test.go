package emulator

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/server"
)

// manualClock is a clock tests move by hand, so token buckets refill exactly when told to.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// start runs an emulator with opts on a loopback port for the duration of the test.
func start(t testing.TB, opts Options) *Emulator {
	t.Helper()
	e, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.Start(ctx); err != nil {
		cancel()
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// sdkConfig is how a user points the real SDK clients at the emulator: BaseEndpoint, static
// credentials, a Region, and (for these tests) retries turned off so every throttle surfaces.
func sdkConfig(e *Emulator, region string) aws.Config {
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(e.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTOLLGATETEST", "secret", ""),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
	}
}

// apiError unpacks an SDK error into its code, HTTP status and request ID, failing the test if
// it is not an API error from a response.
func apiErrorOf(t testing.TB, err error) (code string, status int, requestID string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an API error, got nil")
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want a smithy.APIError, got %T: %v", err, err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want an *awshttp.ResponseError, got %T: %v", err, err)
	}
	return ae.ErrorCode(), re.HTTPStatusCode(), re.ServiceRequestID()
}

// rulesWith merges YAML rules over the defaults.
func rulesWith(t testing.TB, yaml string) limiter.Rules {
	t.Helper()
	rs, err := limiter.ParseRules("test-rules.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("ParseRules: %v", err)
	}
	return server.MergeRules(limiter.DefaultRules(), rs)
}

// errorCode returns the API error code of err, or "" if it has none.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
