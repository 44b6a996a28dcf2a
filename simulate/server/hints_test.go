package server

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDefaultHintsAreLambdasAndAPIGatewaysRetryAfter(t *testing.T) {
	h := DefaultHints()
	for _, c := range []struct{ service, op, want string }{
		{"Lambda", "Invoke", "1"},
		{"lambda", "GetFunction", "1"},
		{"API Gateway", "GetRestApis", "1"},
	} {
		got := h.Lookup(c.service, c.op)
		if got == nil || got.Header != HeaderRetryAfter || got.Form != HintSeconds || got.Value(time.Now()) != c.want {
			t.Errorf("%s %s: hint %+v, want Retry-After: %s", c.service, c.op, got, c.want)
		}
		if got != nil && (got.Status != 429 || got.Code != "TooManyRequestsException" || !strings.Contains(got.Source, "https://docs.aws.amazon.com/")) {
			t.Errorf("%s: code %q status %d source %q: want TooManyRequestsException, 429 and a public source", c.service, got.Code, got.Status, got.Source)
		}
	}
	for _, svc := range []string{"EC2", "S3", "DynamoDB", "KMS", "STS"} {
		if got := h.Lookup(svc, "Anything"); got != nil {
			t.Errorf("%s: hint %+v: AWS documents none", svc, got)
		}
	}
}

func TestHintValuesInEachForm(t *testing.T) {
	now := time.Date(2026, 10, 21, 7, 28, 0, 600e6, time.UTC)
	hs, err := NewHints([]Hint{
		{Service: "Lambda", Operation: "Invoke", Header: "retry-after", Form: HintHTTPDate, After: 2 * time.Second},
		{Service: "Lambda", Header: ""}, // every other Lambda API: none
		{Service: "EC2", Header: "X-Amz-Retry-After", Form: HintMilliseconds, After: 1500 * time.Millisecond},
		{Service: "STS", Header: HeaderRetryAfter, Form: HintSeconds, After: 3 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs, err = DefaultHints().With(hs.List())
	if err != nil {
		t.Fatal(err)
	}
	date := hs.Lookup("Lambda", "Invoke")
	if date == nil || date.Header != HeaderRetryAfter || date.Value(now) != "Wed, 21 Oct 2026 07:28:02 GMT" {
		t.Fatalf("http-date hint: %+v %q", date, date.Value(now))
	}
	if at, err := http.ParseTime(date.Value(now)); err != nil || at.Sub(now) != 1400*time.Millisecond {
		t.Errorf("the date truncates to the second: %v later, %v", at.Sub(now), err)
	}
	if h := hs.Lookup("Lambda", "GetFunction"); h != nil {
		t.Errorf("an entry without a header turns the default off: got %+v", h)
	}
	if h := hs.Lookup("EC2", "DescribeInstances"); h == nil || h.Header != HeaderAmzRetryAfter || h.Value(now) != "1500" {
		t.Errorf("x-amz-retry-after: %+v", h)
	}
	if h := hs.Lookup("sts", "GetCallerIdentity"); h == nil || h.Value(now) != "3" {
		t.Errorf("Retry-After seconds: %+v", h)
	}
	if h := hs.Lookup("API Gateway", "GetRestApis"); h == nil || h.Value(now) != "1" {
		t.Errorf("defaults after the scenario's: %+v", h)
	}
}

func TestHintValidation(t *testing.T) {
	for _, c := range []struct {
		h    Hint
		want string
	}{
		{Hint{Header: HeaderRetryAfter, Form: HintSeconds, After: time.Second}, `"service": required`},
		{Hint{Service: "X", Header: "Retry-Later", Form: HintSeconds, After: time.Second}, `"header"`},
		{Hint{Service: "X", Header: HeaderRetryAfter, Form: HintMilliseconds, After: time.Second}, `seconds or as an http-date`},
		{Hint{Service: "X", Header: HeaderAmzRetryAfter, Form: HintSeconds, After: time.Second}, `in milliseconds`},
		{Hint{Service: "X", Header: HeaderRetryAfter, Form: HintSeconds, After: 1500 * time.Millisecond}, `whole seconds`},
		{Hint{Service: "X", Header: HeaderAmzRetryAfter, Form: HintMilliseconds, After: 1500 * time.Microsecond}, `whole milliseconds`},
		{Hint{Service: "X", Header: HeaderRetryAfter, Form: HintHTTPDate, After: 0}, `"after"`},
		{Hint{Service: "X", Header: HeaderRetryAfter, Form: HintHTTPDate, After: 48 * time.Hour}, `"after"`},
	} {
		_, err := NewHints([]Hint{c.h})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "server: hint 1: ") {
			t.Errorf("%+v: error %v, want one saying %s", c.h, err, c.want)
		}
	}
}
