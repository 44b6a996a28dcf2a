package load

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// At the in-flight cap the open loop sleeps until a call ends: at 10⁶ calls per second with 4
// slots and calls of 100 ms, it starts 4 calls per 100 ms, counts every other call the rate
// asked for as dropped, and wakes about once per call started — not once per call due (a
// million), nor in a loop at the same instant. Even and Poisson arrivals alike.
func TestOpenLoopSleepsAtTheCap(t *testing.T) {
	for _, arrivals := range ArrivalKinds {
		t.Run(arrivals, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var started atomic.Int64
				call := func(int, int) {
					started.Add(1)
					time.Sleep(100 * time.Millisecond) // the call's round trip, in the bubble's clock
				}
				cfg := Config{Rate: 1e6, Concurrency: 4, Duration: time.Second, Arrivals: arrivals, Seed: 7}
				st := openLoop(context.Background(), cfg, time.Now(), func(*rand.Rand) int { return 0 }, call)
				if got := started.Load(); got != 40 {
					t.Errorf("started %d calls, want 4 slots × 10 rounds of 100 ms", got)
				}
				if st.offered != started.Load()+st.dropped {
					t.Errorf("offered %d, started %d, dropped %d: want offered = started + dropped", st.offered, started.Load(), st.dropped)
				}
				if st.offered < 990_000 || st.offered > 1_010_000 {
					t.Errorf("offered %d in 1 s at 10⁶/s", st.offered)
				}
				if st.wakeups > 100 {
					t.Errorf("%d wake-ups for %d calls started: the loop spins at the cap", st.wakeups, started.Load())
				}
				t.Logf("offered %d, started %d, dropped %d, %d wake-ups", st.offered, started.Load(), st.dropped, st.wakeups)
			})
		})
	}
}

// Below the cap, every call the rate asks for starts at its time: 50/s for 2 s is 100 calls
// evenly spaced, none dropped.
func TestOpenLoopStartsEveryCallBelowTheCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var at []time.Duration
		call := func(int, int) { at = append(at, time.Since(start)) }
		st := openLoop(context.Background(), Config{Rate: 50, Concurrency: 1, Duration: 2 * time.Second, Seed: 1}, start, func(*rand.Rand) int { return 0 }, call)
		if st.offered != 100 || st.dropped != 0 || len(at) != 100 {
			t.Fatalf("offered %d, dropped %d, started %d: want 100, 0, 100", st.offered, st.dropped, len(at))
		}
		for i, a := range at {
			if want := time.Duration(i) * 20 * time.Millisecond; a != want {
				t.Fatalf("call %d started at %v, want %v", i, a, want)
			}
		}
	})
}
