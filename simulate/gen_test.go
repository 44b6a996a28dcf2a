package simulate_test

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/server"
	"github.com/tollgate/tollgate/simulate/trace"
)

// bucketTrace generates a trace by sending Poisson arrivals through the token-bucket server
// model with one rule (rate, burst) for EC2 DescribeInstances: cycles of idle (long enough to
// refill the bucket) then overload at `over` times the rate. Every request is recorded with the
// server's answer.
func bucketTrace(t testing.TB, rate float64, burst int, over float64, cycles int, seed uint64) []byte {
	t.Helper()
	rules := limiter.Rules{{Name: "ec2-describe", Service: "EC2", Operation: "DescribeInstances", Rate: rate, Burst: burst, Source: "test"}}
	m, err := server.NewModel(server.Config{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	var buf bytes.Buffer
	w := trace.NewWriter(&buf)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	idle := time.Duration(float64(burst)/rate*float64(time.Second)) + 5*time.Second
	// Long enough to drain the bucket and then stay saturated for a minute.
	busy := 60*time.Second + time.Duration(2*float64(burst)/((over-1)*rate)*float64(time.Second))
	req := server.Request{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}
	for c := 0; c < cycles; c++ {
		now = now.Add(idle)
		end := now.Add(busy)
		for now.Before(end) {
			now = now.Add(time.Duration(rng.ExpFloat64() / (over * rate) * float64(time.Second)))
			rec := trace.Record{Time: now, Service: "EC2", Operation: "DescribeInstances", Region: "us-east-1",
				Outcome: trace.OutcomeSuccess, Status: 200, Client: "c1"}
			if m.Decide(now, req).Outcome == server.Throttled {
				rec.Outcome, rec.ErrorCode, rec.Status = trace.OutcomeThrottled, "RequestLimitExceeded", 503
			}
			if err := w.Write(&rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
