package limiter

import (
	"testing"
	"time"
)

// TestHotPathsDoNotAllocate checks the zero-allocation contract of Allow, Reserve and Tokens
// for keys that already have buckets, including keys built from substrings of a larger string.
func TestHotPathsDoNotAllocate(t *testing.T) {
	l := New(DefaultRules())
	path := "us-east-1/S3/GetObject/my-bucket/logs/2026/03/14/part-0001.gz"
	s3 := Key{Region: path[:9], Service: path[10:12], Operation: path[13:22], Resource: path[23:32], Prefix: path[33:41]}
	ec2 := Key{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}
	run := Key{Region: "us-east-1", Service: "EC2", Operation: "RunInstances"}
	for _, k := range []Key{s3, ec2, run} {
		l.Allow(t0, k, 1) // create the buckets
	}
	now := t0
	cases := map[string]func(){
		"Allow unpartitioned": func() { now = now.Add(time.Millisecond); l.Allow(now, ec2, 1) },
		"Allow partitioned":   func() { now = now.Add(time.Millisecond); l.Allow(now, s3, 1) },
		"Allow two buckets":   func() { now = now.Add(time.Millisecond); l.Allow(now, run, 3) },
		"Reserve": func() {
			now = now.Add(time.Millisecond)
			r, err := l.Reserve(now, ec2, 1, time.Time{})
			if err == nil {
				r.Cancel(now)
			}
		},
		"Tokens":    func() { l.Tokens(now, s3) },
		"Succeeded": func() { l.Succeeded(now, ec2) },
		"Throttled": func() {
			now = now.Add(time.Millisecond)
			l.Feedback(now, s3, Feedback{Throttled: true, RetryAfter: time.Millisecond})
		},
		"Rate": func() { l.Rate(now, s3) },
		"Confirm": func() {
			now = now.Add(time.Millisecond)
			r, err := l.Reserve(now, run, 1, time.Time{})
			if err == nil {
				r.Confirm(now.Add(r.Delay()), time.Time{})
			}
		},
	}
	for name, f := range cases {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s: %v allocations per call", name, n)
		}
	}
	buf := make([]RuleStats, 0, len(l.Rules())+1) // the rules and the learned rule
	if n := testing.AllocsPerRun(100, func() { buf = l.AppendRuleStats(buf[:0]) }); n != 0 {
		t.Errorf("AppendRuleStats: %v allocations", n)
	}
}
