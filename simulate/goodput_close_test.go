package simulate_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/simulate"
)

// Goodput is counted the same way for every strategy: a call counts when its answer arrives
// before the load window closes. On ec2-fleet, where one bucket (100 burst, 20/s) serves every
// call, capacity minus goodput is then what AWS's bucket let go to waste: refill lost while it
// was full, the tokens still in it when the window closes, and the calls it admitted whose
// answers arrive after. This test replays the bucket from the successes of tollgate and the
// SDK's adaptive mode over seeds 1 to 5 (AWS decides an attempt half-way through its round
// trip, give or take the network's 2 ms jitter), checks that the replay never admits a call
// without a token, that only calls admitted in the window's last 50 ms are answered after it,
// and that the refill lost once the fleet runs is no more than the calls cancelled in flight at
// their deadline then: an attempt cancelled on its way out leaves its token in AWS's bucket, one
// cancelled on its way back spent a token the replay of successes does not see. So what either
// strategy falls short of the bucket's r·T+B is the tokens left in it at the close and the
// calls cancelled in flight (tollgate's limiter admits a waiting call only if its turn leaves
// the API's latency margin before the deadline, so it has none once the fleet runs); the test
// logs both, per seed.
//
//	go test -run TestEC2FleetShortfallIsTokensLeftAndCallsCancelledInFlight -v ./simulate/
func TestEC2FleetShortfallIsTokensLeftAndCallsCancelledInFlight(t *testing.T) {
	const rate, burst = 20.0, 100.0
	for seed := uint64(1); seed <= 5; seed++ {
		for _, name := range []string{"tollgate", "sdk-adaptive"} {
			shortfall(t, name, seed, rate, burst)
		}
	}
}

// shortfall runs ec2-fleet under strategy name with seed and checks where the calls between
// its goodput and the bucket's capacity went.
func shortfall(t *testing.T, name string, seed uint64, rate, burst float64) {
	t.Helper()
	{
		sc, _, err := simulate.EmbeddedScenario("ec2-fleet")
		if err != nil {
			t.Fatal(err)
		}
		sc.Seed, sc.Strategies = seed, []string{name}
		window := sc.Duration
		var admitted []time.Duration // successes, when AWS admitted them (from the epoch)
		var cancelledLater float64   // calls cancelled in flight after the first 5 s
		obs := event.ObserverFunc(func(e event.Event) {
			switch {
			case e.Kind == event.AttemptFinished && e.Outcome == backoff.Success:
				admitted = append(admitted, e.Time.Sub(simulate.Epoch)-e.Duration/2)
			case e.Kind == event.CallFinished && e.Reason == simulate.ReasonDeadlineInFlight && e.Time.Sub(simulate.Epoch) >= 5*time.Second:
				cancelledLater++
			}
		})
		c, err := simulate.Simulate(context.Background(), sc, simulate.Options{Parallelism: 1, Observer: obs})
		if err != nil {
			t.Fatal(err)
		}
		st := c.Strategies[0]
		goodput := math.Round(st.GoodputPerS * window.Seconds()) // (rounded to 3 decimals per second)
		slices.Sort(admitted)
		// Replay AWS's bucket: full at the start, refilled continuously, one token per success.
		tokens, last := burst, time.Duration(0)
		var wastedEarly, wastedLater, late, lowest float64
		for _, at := range admitted {
			if at >= window {
				// Admitted after the close: the bucket's level at the close is what matters.
				continue
			}
			tokens += (at - last).Seconds() * rate
			last = at
			if tokens > burst {
				if at < 5*time.Second {
					wastedEarly += tokens - burst
				} else {
					wastedLater += tokens - burst
				}
				tokens = burst
			}
			tokens--
			lowest = min(lowest, tokens)
		}
		leftAtClose := min(burst, tokens+(window-last).Seconds()*rate)
		for _, at := range admitted {
			if at < window && at >= window-50*time.Millisecond {
				late++ // admitted just before the close: its answer may arrive after it
			}
		}
		answeredAfter := float64(len(admittedBefore(admitted, window))) - goodput
		capacity := burst + rate*window.Seconds()
		t.Logf("seed %d %-12s goodput %5.0f of %5.0f: %.2f tokens left in AWS's bucket at the close, %.0f admitted calls answered after it, %.2f tokens of refill lost in the first 5 s, %.2f after, %.0f calls cancelled in flight after",
			seed, name, goodput, capacity, leftAtClose, answeredAfter, wastedEarly, wastedLater, cancelledLater)
		if answeredAfter < 0 || answeredAfter > late {
			t.Errorf("%s: %.0f calls admitted before the close but not counted, want 0..%.0f (admitted in its last 50 ms)", name, answeredAfter, late)
		}
		if wastedLater > cancelledLater+0.5 {
			t.Errorf("%s: %.2f tokens of AWS's refill lost after the first 5 s, %.0f calls cancelled in flight then (the bucket was full while the fleet offered 5x its rate)", name, wastedLater, cancelledLater)
		}
		if lowest < -0.5 {
			// The replay is AWS's bucket only if AWS never admitted a call without a token.
			t.Errorf("%s: the replayed bucket fell to %.2f tokens: admission times misestimated", name, lowest)
		}
	}
}

// admittedBefore returns the prefix of sorted times before t.
func admittedBefore(sorted []time.Duration, t time.Duration) []time.Duration {
	i, _ := slices.BinarySearch(sorted, t)
	return sorted[:i]
}
