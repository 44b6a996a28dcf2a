package limiter_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/limiter"
)

// DescribeInstances has a bucket of 100 that refills at 20 per second: a burst of 100 calls,
// then 20 per second — not 100 calls per second.
func ExampleLimiter_Allow() {
	l := limiter.New(limiter.DefaultRules())
	key := limiter.Key{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	admitted := 0
	for ms := 0; ms < 10_000; ms++ { // one call per millisecond for 10 s
		if ok, _ := l.Allow(start.Add(time.Duration(ms)*time.Millisecond), key, 1); ok {
			admitted++
		}
	}
	fmt.Println("admitted in 10s:", admitted)
	// Output: admitted in 10s: 299
}

func ExampleLimiter_Reserve() {
	l := limiter.New(limiter.DefaultRules(), limiter.WithMaxWait(time.Second))
	key := limiter.Key{Region: "us-east-1", Service: "EC2", Operation: "RunInstances"}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	// RunInstances: 5 requests refilling at 2/s, and 1,000 instances refilling at 2/s.
	for i := range 7 {
		r, err := l.Reserve(now, key, 1, time.Time{})
		var refused *limiter.RefusedError
		if errors.As(err, &refused) {
			fmt.Printf("call %d: refused by %s (%s, would wait %v)\n", i+1, refused.Rule, refused.Reason, refused.Wait)
			continue
		}
		fmt.Printf("call %d: wait %v\n", i+1, r.Delay())
	}
	// Output:
	// call 1: wait 0s
	// call 2: wait 0s
	// call 3: wait 0s
	// call 4: wait 0s
	// call 5: wait 0s
	// call 6: wait 500ms
	// call 7: wait 1s
}

func ExampleParseRules() {
	doc := `
rules:
  - name: kms-crypto
    service: KMS
    operation: Encrypt|Decrypt|GenerateDataKey
    rate: 10000
    burst: 10000
    scope: shared
  - name: s3-reads
    service: S3
    operation: Get*|Head*
    rate: 5500
    burst: 5500
    partition: prefix
    scope: shared
`
	rules, err := limiter.ParseRules("rules.yaml", []byte(doc))
	if err != nil {
		fmt.Println(err)
		return
	}
	r, _ := rules.Match("kms", "Decrypt", "eu-west-1")
	fmt.Println(r.Name, r.Rate, r.Burst, r.Scope)

	_, err = limiter.ParseRules("rules.yaml", []byte("rules:\n  - name: bad\n    service: EC2\n    rate: 20\n    burst: 0\n"))
	fmt.Println(err)
	// Output:
	// kms-crypto 10000 10000 shared
	// limiter: rules.yaml:5: rule "bad": field "burst": must be > 0
}

func ExampleLimiter_Reserve_shadow() {
	l := limiter.New(limiter.DefaultRules(), limiter.WithMode(limiter.Shadow))
	key := limiter.Key{Region: "us-east-1", Service: "Lambda", Operation: "GetPolicy"}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	waits := 0
	for range 20 { // GetPolicy: 15 per second
		r, _ := l.Reserve(now, key, 1, time.Time{})
		if r.WouldWait() > 0 {
			waits++
		}
	}
	st, _ := l.RuleStats("lambda-get-policy")
	fmt.Println("would have waited:", waits, "admitted:", st.Admitted)
	// Output: would have waited: 5 admitted: 15
}
