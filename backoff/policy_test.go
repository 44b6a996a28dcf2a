package backoff

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var errSlowDown = errors.New("api error SlowDown: Please reduce your request rate.")

func TestPolicyMaxAttempts(t *testing.T) {
	p := &Policy{}
	r := rand.New(rand.NewPCG(1, 1))
	c := p.Start(t0, time.Time{})
	throttle := Failure{Signal: Signal{Code: "SlowDown", Status: 503}}
	for i := 1; i <= 2; i++ {
		d := p.Failed(t0, &c, throttle, r)
		if !d.Retry || d.Class != Throttle || d.Delay < 0 || d.Delay >= time.Second<<uint(i-1) {
			t.Fatalf("attempt %d: %+v", i, d)
		}
	}
	d := p.Failed(t0, &c, throttle, r)
	if d.Retry || d.Stop != StopMaxAttempts || d.Attempts != 3 {
		t.Fatalf("third failure: %+v, want stop max_attempts", d)
	}
	if err := d.Err(errSlowDown); err != errSlowDown {
		t.Fatalf("max attempts should surface the service error unchanged, got %v", err)
	}
}

func TestPolicyNonRetryable(t *testing.T) {
	p := &Policy{}
	c := p.Start(t0, time.Time{})
	for _, code := range []string{"AccessDenied", "ValidationException"} {
		d := p.Failed(t0, &c, Failure{Signal: Signal{Code: code, Status: 400}}, rand.New(rand.NewPCG(1, 1)))
		if d.Retry || d.Stop != StopNonRetryable {
			t.Errorf("%s: %+v", code, d)
		}
	}
}

func TestPolicyDeadline(t *testing.T) {
	p := &Policy{Backoff: Backoff{Jitter: NoJitter}, MaxAttempts: 10}
	r := rand.New(rand.NewPCG(1, 1))
	c := p.Start(t0, t0.Add(1500*time.Millisecond))
	throttle := Failure{Signal: Signal{Code: "ThrottlingException", Status: 400}}
	d := p.Failed(t0, &c, throttle, r) // 1 s, ends at 1 s < 1.5 s
	if !d.Retry || d.Delay != time.Second {
		t.Fatalf("first: %+v", d)
	}
	now := t0.Add(time.Second)
	d = p.Failed(now, &c, throttle, r) // 2 s, would end at 3 s > 1.5 s
	if d.Retry || d.Stop != StopDeadline || d.Left != 500*time.Millisecond {
		t.Fatalf("second: %+v, want stop deadline with 500ms left", d)
	}
	err := d.Err(errSlowDown)
	var rr *RetryRefusedError
	if !errors.As(err, &rr) || rr.Reason != StopDeadline || !errors.Is(err, errSlowDown) {
		t.Fatalf("deadline error %v does not unwrap as expected", err)
	}
	if !strings.Contains(err.Error(), "client-side") {
		t.Errorf("message does not say client-side: %v", err)
	}
}

func TestPolicyMaxTotalDelay(t *testing.T) {
	p := &Policy{Backoff: Backoff{Jitter: NoJitter}, MaxAttempts: -1, MaxTotalDelay: 3 * time.Second}
	c := p.Start(t0, time.Time{})
	throttle := Failure{Signal: Signal{Code: "Throttling", Status: 400}}
	r := rand.New(rand.NewPCG(1, 1))
	if d := p.Failed(t0, &c, throttle, r); !d.Retry { // 1 s
		t.Fatal(d)
	}
	if d := p.Failed(t0, &c, throttle, r); !d.Retry { // +2 s = 3 s
		t.Fatal(d)
	}
	if d := p.Failed(t0, &c, throttle, r); d.Retry || d.Stop != StopMaxTotalDelay { // +4 s
		t.Fatalf("third: %+v", d)
	}
	if c.TotalDelay() != 3*time.Second || c.Attempts() != 3 {
		t.Fatalf("call state: total %v attempts %d", c.TotalDelay(), c.Attempts())
	}
}

func TestPolicyHints(t *testing.T) {
	p := &Policy{Backoff: Backoff{Jitter: NoJitter}}
	r := rand.New(rand.NewPCG(1, 1))
	c := p.Start(t0, time.Time{})
	d := p.Failed(t0, &c, Failure{
		Signal: Signal{Code: "TooManyRequestsException", Status: 429},
		Hints:  Hints{RetryAfter: "3"},
	}, r)
	if !d.Retry || d.Backoff != time.Second || d.Delay != 3*time.Second || !d.Hinted {
		t.Fatalf("Retry-After 3: %+v", d)
	}
	d = p.Failed(t0, &c, Failure{
		Signal: Signal{Code: "TooManyRequestsException", Status: 429},
		Hints:  Hints{AmzRetryAfter: "60000"},
	}, rand.New(rand.NewPCG(1, 1)))
	// Third attempt would be refused by MaxAttempts=3; this is the second failure: retry 1, 2 s backoff.
	if !d.Retry || d.Delay != 7*time.Second {
		t.Fatalf("x-amz-retry-after 60s: %+v, want clamped to 2s+5s", d)
	}
	ignore := &Policy{Backoff: Backoff{Jitter: NoJitter}, IgnoreHints: true}
	c = ignore.Start(t0, time.Time{})
	d = ignore.Failed(t0, &c, Failure{Signal: Signal{Status: 429}, Hints: Hints{RetryAfter: "3"}}, r)
	if d.Delay != time.Second || d.Hinted {
		t.Fatalf("IgnoreHints: %+v", d)
	}
}

func TestPolicyBudgetRefusal(t *testing.T) {
	q := NewTokenQuota(TokenQuotaConfig{Capacity: 20})
	p := &Policy{Budget: q, MaxAttempts: 10}
	r := rand.New(rand.NewPCG(1, 1))
	c := p.Start(t0, time.Time{})
	transient := Failure{Signal: Signal{Code: "InternalError", Status: 500}}
	if d := p.Failed(t0, &c, transient, r); !d.Retry || d.Level.Available != 6 {
		t.Fatalf("first retry: %+v", d)
	}
	d := p.Failed(t0, &c, transient, r)
	if d.Retry || d.Stop != StopBudget || d.Needed != 14 || d.Level.Available != 6 {
		t.Fatalf("second retry: %+v, want budget refusal with 6 left, 14 needed", d)
	}
	err := d.Err(errSlowDown)
	var rr *RetryRefusedError
	if !errors.As(err, &rr) || rr.Budget != "aws-retry-quota" || rr.Available != 6 || rr.Needed != 14 {
		t.Fatalf("error %#v", err)
	}
	if !errors.Is(err, errSlowDown) {
		t.Error("refusal does not wrap the last service error")
	}
	msg := err.Error()
	for _, want := range []string{"client-side retry budget", "aws-retry-quota", "6 tokens left", "14 needed", "no further request was sent", "SlowDown"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "retry quota exceeded") {
		t.Error("message copies the SDK's confusing wording")
	}
}

func TestPolicyBudgetRefundOnSuccess(t *testing.T) {
	q := NewTokenQuota(TokenQuotaConfig{})
	p := &Policy{Budget: q}
	r := rand.New(rand.NewPCG(1, 1))
	c := p.Start(t0, time.Time{})
	p.Failed(t0, &c, Failure{Signal: Signal{Code: "SlowDown", Status: 503}}, r)
	if q.Level(t0).Available != 495 {
		t.Fatal("throttle retry did not cost 5")
	}
	p.Succeeded(t0, &c)
	if q.Level(t0).Available != 500 {
		t.Fatal("successful retry did not refund")
	}
	c = p.Start(t0, time.Time{})
	p.Failed(t0, &c, Failure{Signal: Signal{Code: "SlowDown", Status: 503}}, r)
	p.Failed(t0, &c, Failure{Signal: Signal{Code: "SlowDown", Status: 503}}, r)
	p.Failed(t0, &c, Failure{Signal: Signal{Code: "SlowDown", Status: 503}}, r) // max attempts: no spend
	if q.Level(t0).Available != 490 {
		t.Fatalf("two retries then a stop: %v left, want 490", q.Level(t0).Available)
	}
}

func TestStopReasonStrings(t *testing.T) {
	for r := StopSuccess; r <= StopBudget; r++ {
		if r.String() == "" || r.String() == "unknown" {
			t.Errorf("StopReason %d has no name", r)
		}
	}
	if NoStop.ClientSide() || StopMaxAttempts.ClientSide() || !StopBudget.ClientSide() {
		t.Error("ClientSide misclassifies reasons")
	}
}
