package vtime

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// Sub is time.Time.Sub: for times near and far apart, with and without monotonic readings,
// across the overflow bounds.
func TestSubIsTimeSub(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mono := time.Now()
	far := []time.Time{{}, time.Unix(0, 0), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Unix(math.MaxInt64/2, 999999999), time.Unix(-math.MaxInt64/2, 1), base.AddDate(285, 0, 0), base.AddDate(-300, 0, 0), base.AddDate(284, 11, 30)}
	pick := func() time.Time {
		switch rng.IntN(4) {
		case 0:
			return far[rng.IntN(len(far))]
		case 1:
			return mono.Add(time.Duration(rng.Int64N(2e12) - 1e12))
		case 2:
			return base.Add(time.Duration(rng.Int64N(2e12) - 1e12)).In(time.FixedZone("x", 3600))
		}
		return base.Add(time.Duration(rng.Int64()))
	}
	for i := 0; i < 200000; i++ {
		a, b := pick(), pick()
		if got, want := Sub(a, b), a.Sub(b); got != want {
			t.Fatalf("Sub(%v, %v) = %v, want %v", a, b, got, want)
		}
	}
}
