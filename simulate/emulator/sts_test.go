package emulator

import (
	"context"
	"net/http"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestSTSGetCallerIdentity(t *testing.T) {
	e := start(t, Options{Account: "111122223333"})
	client := sts.NewFromConfig(sdkConfig(e, "eu-west-1"))
	out, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if got := aws.ToString(out.Account); got != "111122223333" {
		t.Errorf("Account = %q, want 111122223333", got)
	}
	if got := aws.ToString(out.Arn); got != "arn:aws:iam::111122223333:user/tollgate-emulator" {
		t.Errorf("Arn = %q", got)
	}
	if got := aws.ToString(out.UserId); !regexp.MustCompile(`^AIDA[0-9A-F]{17}$`).MatchString(got) {
		t.Errorf("UserId = %q, want AIDA + 17 characters", got)
	}
	if id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); !uuidPattern.MatchString(id) {
		t.Errorf("request ID = %q, want a UUID", id)
	}
}

func TestSTSThrottleDecodes(t *testing.T) {
	clock := newManualClock()
	e := start(t, Options{Clock: clock.Now, Rules: rulesWith(t, `
rules:
  - name: sts-test
    service: STS
    operation: "*"
    rate: 1
    burst: 2
    source: test
`)})
	client := sts.NewFromConfig(sdkConfig(e, "us-east-1"))
	for i := range 2 {
		if _, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("call %d within the burst: %v", i+1, err)
		}
	}
	_, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	code, status, id := apiErrorOf(t, err)
	if code != "Throttling" || status != http.StatusBadRequest || !uuidPattern.MatchString(id) {
		t.Errorf("throttle = (%q, %d, %q), want (Throttling, 400, a UUID)", code, status, id)
	}
	clock.Advance(1e9)
	if _, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Errorf("after one second's refill: %v", err)
	}
}
