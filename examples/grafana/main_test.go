package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRunServesTollgateAndSDKMetrics runs the example for 1.5 s and reads its /metrics while it
// runs: tollgate's series and the SDK's, labelled by service and operation, with throttles.
func TestRunServesTollgateAndSDKMetrics(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(context.Background(), ln, 2500*time.Millisecond, &out) }()

	want := []string{
		`tollgate_calls_total{aws_service="EC2",operation="DescribeInstances",result="success_without_retry"}`,
		`tollgate_throttles_total{aws_service="EC2",error_code="RequestLimitExceeded",operation="DescribeInstances"}`,
		`tollgate_limiter_wait_seconds_bucket{aws_service="EC2",operation="DescribeInstances",le="0.001"}`,
		`tollgate_sdk_client_call_duration_seconds_count{aws_service="DynamoDB",operation="PutItem"}`,
		`tollgate_build_info{`,
	}
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if containsAll(body, want) {
				break
			}
		}
		time.Sleep(100 * time.Millisecond) // polling a live run, with a deadline
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), " calls, ") {
		t.Errorf("output: %q", out.String())
	}
}

func containsAll(s string, subs []string) bool {
	for _, w := range subs {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}
