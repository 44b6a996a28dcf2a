package emulator

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsEndpoint(t *testing.T) {
	clock := newManualClock()
	e := start(t, Options{Clock: clock.Now, Rules: rulesWith(t, `
rules:
  - name: sts-test
    service: STS
    operation: "*"
    rate: 1
    burst: 3
    source: test
`)})
	client := sts.NewFromConfig(sdkConfig(e, "us-east-1"))
	for range 5 { // 3 accepted, 2 throttled
		client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	}
	// Two unknown operations: counted as "unknown", whatever name the client sent.
	client.GetSessionToken(context.Background(), &sts.GetSessionTokenInput{})
	for _, action := range []string{"Bogus1", "Bogus2"} {
		resp, err := http.Post(e.URL()+"/", "application/x-www-form-urlencoded",
			strings.NewReader("Action="+action+"&Version=2016-11-15"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	want := `
# HELP tollgate_emulator_requests_total Requests the tollgate emulator answered, by AWS service, operation and result (accepted, throttled, failed).
# TYPE tollgate_emulator_requests_total counter
tollgate_emulator_requests_total{aws_service="EC2",operation="unknown",result="failed"} 2
tollgate_emulator_requests_total{aws_service="STS",operation="GetCallerIdentity",result="accepted"} 3
tollgate_emulator_requests_total{aws_service="STS",operation="GetCallerIdentity",result="throttled"} 2
tollgate_emulator_requests_total{aws_service="STS",operation="unknown",result="failed"} 1
`
	if err := testutil.ScrapeAndCompare(e.URL()+"/metrics", strings.NewReader(want), "tollgate_emulator_requests_total"); err != nil {
		t.Error(err)
	}
	problems, err := testutil.GatherAndLint(e.Gatherer())
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
