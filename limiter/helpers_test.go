package limiter

import (
	"strings"
	"testing"
	"time"
)

// t0 is the virtual start time of the tests.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// mustParse parses a rules document that the test expects to be valid.
func mustParse(t testing.TB, doc string) Rules {
	t.Helper()
	rs, err := ParseRules("test.yaml", []byte(strings.TrimLeft(doc, "\n")))
	if err != nil {
		t.Fatalf("ParseRules: %v", err)
	}
	return rs
}

// oneRule returns rules with one calls rule, "r", covering every operation of service X.
func oneRule(rate float64, burst int) Rules {
	return Rules{{Name: "r", Service: "X", Operation: "*", Rate: rate, Burst: burst}}
}

func keyX(op string) Key { return Key{Region: "us-east-1", Service: "X", Operation: op} }
