package backoff

import (
	"math/rand/v2"
	"testing"
	"time"
)

var sinkDuration time.Duration
var sinkClass Class

func BenchmarkDelayFullJitter(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	bo := Backoff{}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sinkDuration = bo.Delay(r, Throttle, i&7, 0)
	}
}

func BenchmarkClassify(b *testing.B) {
	c := DefaultClassifier()
	signals := []Signal{
		{Code: "RequestLimitExceeded", Status: 503},
		{Code: "AccessDenied", Status: 403},
		{Status: 500},
		{Code: "Client.RequestLimitExceeded"},
		{Transport: ConnReset},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sinkClass = c.Classify(signals[i%len(signals)])
	}
}

func BenchmarkBudgetAcquireRelease(b *testing.B) {
	for _, bud := range []Budget{NewTokenQuota(TokenQuotaConfig{}), NewRatioBudget(RatioBudgetConfig{})} {
		b.Run(bud.Name(), func(b *testing.B) {
			now := time.Unix(1_700_000_000, 0)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				now = now.Add(time.Millisecond)
				bud.OnRequest(now)
				if s, ok := bud.AcquireRetry(now, Throttle); ok {
					bud.OnSuccess(now, s)
				}
			}
		})
	}
}
