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
			if _, err := l.Reserve(time.Unix(1, 0), k, 1, time.Time{}); err != nil {
				var re *RefusedError
				if !errors.As(err, &re) {
					t.Fatalf("Reserve error %T: %v", err, err)
				}
			}
		}
	})
}
