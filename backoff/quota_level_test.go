package backoff

import (
	"math/rand/v2"
	"testing"
	"time"
)

// plainBudget hides a TokenQuota behind another type, so that a Policy using it takes the
// general path: AcquireRetry, then Level.
type plainBudget struct{ *TokenQuota }

// A Policy decides the same with a TokenQuota (acquired and read under one lock) as with the
// same quota behind the Budget interface: same retries, delays, stops, levels and needs.
func TestTokenQuotaOneLockSameDecisions(t *testing.T) {
	cfg := TokenQuotaConfig{Capacity: 60, ThrottleCost: 5, TransientCost: 14, SuccessIncrement: 1}
	fast := &Policy{MaxAttempts: 4, Budget: NewTokenQuota(cfg)}
	slow := &Policy{MaxAttempts: 4, Budget: plainBudget{NewTokenQuota(cfg)}}
	rf, rs := rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(1, 2))
	rng := rand.New(rand.NewPCG(3, 4))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	refused := 0
	signals := []Signal{{Code: "Throttling", Status: 400}, {Status: 500}, {Code: "AccessDenied", Status: 403}, {Transport: TransportTimeout}}
	for call := 0; call < 5000; call++ {
		cf, cs := fast.Start(now, time.Time{}), slow.Start(now, time.Time{})
		for {
			now = now.Add(time.Millisecond)
			if rng.IntN(3) == 0 {
				fast.Succeeded(now, &cf)
				slow.Succeeded(now, &cs)
				break
			}
			f := Failure{Signal: signals[rng.IntN(len(signals))]}
			df, ds := fast.Failed(now, &cf, f, rf), slow.Failed(now, &cs, f, rs)
			if df != ds {
				t.Fatalf("call %d: with the quota %+v, behind the interface %+v", call, df, ds)
			}
			if df.Stop == StopBudget {
				refused++
			}
			if !df.Retry {
				break
			}
		}
	}
	if refused == 0 {
		t.Fatal("the quota never refused a retry: the test does not cover refusals")
	}
}
