package backoff_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tollgate/tollgate/backoff"
)

// The delays full jitter draws for the first retries of a throttled call, from a seeded source.
func ExampleBackoff_Delay() {
	r := rand.New(rand.NewPCG(1, 2))
	b := backoff.Backoff{} // full jitter, throttle base 1 s, transient base 50 ms, cap 20 s
	for retry := 0; retry < 4; retry++ {
		fmt.Printf("retry %d: ceiling %v, drew %v\n", retry,
			b.Ceiling(backoff.Throttle, retry), b.Delay(r, backoff.Throttle, retry, 0).Round(time.Millisecond))
	}
	// Output:
	// retry 0: ceiling 1s, drew 769ms
	// retry 1: ceiling 2s, drew 1.233s
	// retry 2: ceiling 4s, drew 3.138s
	// retry 3: ceiling 8s, drew 6.373s
}

// Classify what AWS answered. LimitExceededException is a throttle by default; a service that uses
// it for "quota used up" can reclassify it.
func ExampleClassifier_Classify() {
	def := backoff.DefaultClassifier()
	fmt.Println(def.Classify(backoff.Signal{Code: "RequestLimitExceeded", Status: 503}))
	fmt.Println(def.Classify(backoff.Signal{Status: 502}))
	fmt.Println(def.Classify(backoff.Signal{Code: "AccessDenied", Status: 403}))
	fmt.Println(def.Classify(backoff.Signal{Transport: backoff.ConnReset}))

	strict := backoff.NewClassifier(backoff.WithCodes(backoff.NonRetryable, "LimitExceededException"))
	fmt.Println(strict.Classify(backoff.Signal{Code: "LimitExceededException", Status: 400}))
	// Output:
	// throttled
	// transient
	// non_retryable
	// transient
	// non_retryable
}

// A Policy walks one call through its retries; when the retry budget runs out, the caller gets a
// typed error that says the refusal was client-side and wraps what AWS last said.
func ExamplePolicy() {
	p := &backoff.Policy{
		Budget:      backoff.NewTokenQuota(backoff.TokenQuotaConfig{Capacity: 10}),
		MaxAttempts: 5,
	}
	r := rand.New(rand.NewPCG(7, 7))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	awsErr := errors.New("api error SlowDown: Please reduce your request rate.")

	call := p.Start(now, time.Time{})
	for {
		d := p.Failed(now, &call, backoff.Failure{Signal: backoff.Signal{Code: "SlowDown", Status: 503}}, r)
		if !d.Retry {
			err := d.Err(awsErr)
			var refused *backoff.RetryRefusedError
			fmt.Println(errors.As(err, &refused), refused.Reason, refused.Available, errors.Is(err, awsErr))
			break
		}
		fmt.Printf("attempt %d throttled: retry in %v (budget left %v)\n", d.Attempts, d.Delay.Round(time.Millisecond), d.Level.Available)
		now = now.Add(d.Delay)
	}
	// Output:
	// attempt 1 throttled: retry in 960ms (budget left 5)
	// attempt 2 throttled: retry in 39ms (budget left 0)
	// true budget 0 true
}

// Parse the server's hints. x-amz-retry-after is in milliseconds; Retry-After in seconds or an
// HTTP-date. Bad values are ignored, never fatal.
func ExampleHints_Delay() {
	now := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	for _, h := range []backoff.Hints{
		{AmzRetryAfter: "1500"},
		{RetryAfter: "2"},
		{RetryAfter: "Fri, 14 Mar 2025 09:27:03 GMT"},
		{RetryAfter: "-1"},
	} {
		d, ok := h.Delay(now)
		fmt.Println(d, ok)
	}
	// Output:
	// 1.5s true
	// 2s true
	// 10s true
	// 0s false
}
