package emulator

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tollgate/tollgate/simulate/server"
)

// headerOf returns header h of the HTTP response behind an SDK error.
func headerOf(t *testing.T, err error, h string) string {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil {
		t.Fatalf("want an error with a response, got %v", err)
	}
	return re.Response.Header.Get(h)
}

// Throttling errors carry the hints of Options.Hints in every protocol — x-amz-retry-after in
// milliseconds, Retry-After in seconds or as an HTTP-date — and only throttling errors do.
func TestThrottlesCarryHints(t *testing.T) {
	clock := newManualClock()
	hints, err := server.DefaultHints().With([]server.Hint{
		{Service: "EC2", Header: server.HeaderAmzRetryAfter, Form: server.HintMilliseconds, After: 1500 * time.Millisecond},
		{Service: "Lambda", Operation: "Invoke", Header: server.HeaderRetryAfter, Form: server.HintHTTPDate, After: 3 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, Options{Clock: clock.Now, Hints: hints, Rules: rulesWith(t, `
rules:
  - {name: ec2-describe, service: EC2, operation: DescribeInstances, rate: 1, burst: 1, source: test}
  - {name: lambda, service: Lambda, operation: "*", rate: 1, burst: 1, scope: shared, source: test}
  - {name: s3, service: S3, operation: "*", rate: 1, burst: 1, partition: prefix, source: test}
`)})
	ctx := context.Background()
	ec2c := ec2.NewFromConfig(sdkConfig(e, "us-east-1"))
	describe := func() error {
		_, err := ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
		return err
	}
	if err := describe(); err != nil {
		t.Fatal(err)
	}
	err = describe()
	if code, _, _ := apiErrorOf(t, err); code != "RequestLimitExceeded" || headerOf(t, err, "X-Amz-Retry-After") != "1500" {
		t.Errorf("EC2 throttle: %s, x-amz-retry-after %q, want RequestLimitExceeded with 1500", code, headerOf(t, err, "X-Amz-Retry-After"))
	}

	lam := lambda.NewFromConfig(sdkConfig(e, "us-east-1"))
	if _, err := lam.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f")}); err != nil {
		t.Fatal(err)
	}
	_, err = lam.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f")})
	want := clock.Now().Add(3 * time.Second).Format(http.TimeFormat)
	var tmr *types.TooManyRequestsException
	if !errors.As(err, &tmr) || aws.ToString(tmr.RetryAfterSeconds) != want {
		t.Errorf("Lambda Invoke throttle: %v, want Retry-After %q", err, want)
	}
	_, err = lam.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("f")})
	if !errors.As(err, &tmr) || aws.ToString(tmr.RetryAfterSeconds) != "1" {
		t.Errorf("Lambda GetFunction throttle: %v, want the default Retry-After: 1", err)
	}

	s3c := s3.NewFromConfig(sdkConfig(e, "us-east-1"), func(o *s3.Options) { o.UsePathStyle = true })
	put := func() error {
		_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("hints-bucket"), Key: aws.String("p/k")})
		return err
	}
	if err := put(); err != nil {
		t.Fatal(err)
	}
	err = put()
	if code, _, _ := apiErrorOf(t, err); code != "SlowDown" || headerOf(t, err, "Retry-After") != "" || headerOf(t, err, "X-Amz-Retry-After") != "" {
		t.Errorf("S3 SlowDown: %s with hints %q %q, want none (AWS documents none)", code,
			headerOf(t, err, "Retry-After"), headerOf(t, err, "X-Amz-Retry-After"))
	}

	clock.Advance(time.Minute)
	_, err = ec2c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	if err == nil || headerOf(t, err, "X-Amz-Retry-After") != "" {
		t.Errorf("a failure that is not a throttle carries no hint: %v", err)
	}
}

// With an empty Hints, no error carries a hint, Lambda's included.
func TestNoHints(t *testing.T) {
	clock := newManualClock()
	e := start(t, Options{Clock: clock.Now, Hints: &server.Hints{}, Rules: rulesWith(t, `
rules:
  - {name: lambda, service: Lambda, operation: "*", rate: 1, burst: 1, scope: shared, source: test}
`)})
	lam := lambda.NewFromConfig(sdkConfig(e, "us-east-1"))
	lam.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("f")})
	_, err := lam.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("f")})
	if code, _, _ := apiErrorOf(t, err); code != "TooManyRequestsException" || headerOf(t, err, "Retry-After") != "" {
		t.Errorf("%s with Retry-After %q, want none", code, headerOf(t, err, "Retry-After"))
	}
}

// A capacity schedule overrides an API's rule from its origin on, as the simulator's does;
// SetOrigin restarts it.
func TestCapacitySchedule(t *testing.T) {
	clock := newManualClock()
	e := start(t, Options{Clock: clock.Now, Capacity: &server.CapacitySchedule{Steps: []server.CapacityStep{
		{Service: "EC2", Operation: "DescribeInstances", Start: 0, Rate: 1, Burst: 2},
		{Service: "EC2", Operation: "DescribeInstances", Start: 10 * time.Second, Outage: true},
	}}})
	ec2c := ec2.NewFromConfig(sdkConfig(e, "us-east-1"))
	describe := func() string {
		_, err := ec2c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
		if err == nil {
			return "ok"
		}
		code, _, _ := apiErrorOf(t, err)
		return code
	}
	var got []string
	for range 3 {
		got = append(got, describe())
	}
	clock.Advance(5 * time.Second)
	e.SetOrigin(clock.Now()) // the schedule starts afresh, its bucket full
	for range 3 {
		got = append(got, describe())
	}
	clock.Advance(6 * time.Second) // 11 s after the origin set first, 6 s after the new one
	got = append(got, describe())
	clock.Advance(4 * time.Second) // 10 s after the new origin: the outage
	got = append(got, describe())
	want := []string{"ok", "ok", "RequestLimitExceeded", "ok", "ok", "RequestLimitExceeded", "ok", "InternalError"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("answers %v, want %v", got, want)
		}
	}
}
