package emulator

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func TestLambdaOperations(t *testing.T) {
	e := start(t, Options{Account: "111122223333"})
	client := lambda.NewFromConfig(sdkConfig(e, "us-west-2"))
	ctx := context.Background()

	payload := []byte(`{"order": 42, "items": ["a", "b"]}`)
	out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("checkout"), Payload: payload, LogType: types.LogTypeTail})
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if out.StatusCode != http.StatusOK || string(out.Payload) != string(payload) || aws.ToString(out.ExecutedVersion) != "$LATEST" ||
		out.FunctionError != nil || aws.ToString(out.LogResult) == "" {
		t.Errorf("Invoke = status %d payload %s version %q error %v log %q", out.StatusCode, out.Payload,
			aws.ToString(out.ExecutedVersion), out.FunctionError, aws.ToString(out.LogResult))
	}
	async, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("checkout"), InvocationType: types.InvocationTypeEvent})
	if err != nil || async.StatusCode != http.StatusAccepted {
		t.Errorf("Invoke Event = %v, %v; want status 202", async, err)
	}

	fn, err := client.GetFunction(ctx, &lambda.GetFunctionInput{
		FunctionName: aws.String("arn:aws:lambda:us-west-2:111122223333:function:checkout"),
	})
	if err != nil {
		t.Fatalf("GetFunction: %v", err)
	}
	c := fn.Configuration
	if aws.ToString(c.FunctionName) != "checkout" || aws.ToString(c.FunctionArn) != "arn:aws:lambda:us-west-2:111122223333:function:checkout" ||
		c.State != types.StateActive || aws.ToString(c.Version) != "$LATEST" {
		t.Errorf("GetFunction = %+v", c)
	}
}

func TestLambdaThrottleDecodes(t *testing.T) {
	clock := newManualClock()
	e := start(t, Options{Clock: clock.Now, Rules: rulesWith(t, `
rules:
  - name: lambda-invoke
    service: Lambda
    operation: Invoke|InvokeAsync|InvokeWithResponseStream
    rate: 1
    burst: 1
    scope: shared
    source: test, shrunk from 10,000/s
`)})
	client := lambda.NewFromConfig(sdkConfig(e, "us-east-1"))
	ctx := context.Background()
	invoke := func() error {
		_, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f"), Payload: []byte(`{}`)})
		return err
	}
	if err := invoke(); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	err := invoke()
	code, status, id := apiErrorOf(t, err)
	if code != "TooManyRequestsException" || status != http.StatusTooManyRequests || !uuidPattern.MatchString(id) {
		t.Errorf("throttle = (%q, %d, %q), want (TooManyRequestsException, 429, a UUID)", code, status, id)
	}
	var tmr *types.TooManyRequestsException
	if !errors.As(err, &tmr) || aws.ToString(tmr.RetryAfterSeconds) != "1" || tmr.Reason != types.ThrottleReasonFunctionInvocationRateLimitExceeded ||
		aws.ToString(tmr.Type) != "User" || tmr.ErrorMessage() != "Rate Exceeded." {
		t.Errorf("modeled exception = %+v, want Retry-After 1, a Reason, Type User", tmr)
	}
	clock.Advance(1e9)
	if err := invoke(); err != nil {
		t.Errorf("Invoke after a second's refill: %v", err)
	}
}
