package limiter

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// FuzzParseRules feeds arbitrary documents to the loader. It must never panic; an error must be
// a *RuleError naming the file; accepted rules must be valid and usable by a Limiter. Seeds
// live in testdata/fuzz/FuzzParseRules.
func FuzzParseRules(f *testing.F) {
	f.Add([]byte(validYAML))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseRules("fuzz.yaml", data)
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("error %T is not a *RuleError: %v", err, err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "limiter: fuzz.yaml") {
					t.Fatalf("error line %q does not name the file", line)
				}
			}
			return
		}
		if err := rs.Validate(); err != nil {
			t.Fatalf("accepted rules fail Validate: %v", err)
		}
		for _, r := range rs {
			if !(r.Rate > 0) || math.IsInf(r.Rate, 0) || r.Burst <= 0 || r.Service == "" {
				t.Fatalf("accepted invalid rule %+v", r)
			}
		}
		if len(rs) > 0 && len(rs) < 64 {
			l := New(rs)
			r := rs[0]
			k := Key{Region: "us-east-1", Service: r.Service, Operation: "Op", Resource: "res", Prefix: "p/"}
			l.Allow(time.Unix(0, 0), k, 2)
			// Feedback (adaptive rules learn; NonAdaptive ones only count), then a reservation
			// confirmed after a cut.
			for i := range 4 {
				l.Feedback(time.Unix(int64(i), 0), k, Feedback{Throttled: i%2 == 0, RetryAfter: time.Duration(i) * time.Second})
			}
			res, err := l.Reserve(time.Unix(5, 0), k, 1, time.Time{})
			if err != nil {
				var re *RefusedError
				if !errors.As(err, &re) {
					t.Fatalf("Reserve error %T: %v", err, err)
				}
			} else if _, err := res.Confirm(time.Unix(6, 0), time.Unix(60, 0)); err != nil {
				var re *RefusedError
				if !errors.As(err, &re) {
					t.Fatalf("Confirm error %T: %v", err, err)
				}
			}
			if rate, _, _, ok := l.Rate(time.Unix(7, 0), k); ok && !(rate > 0) {
				t.Fatalf("rate %v after feedback", rate)
			}
		}
	})
}
