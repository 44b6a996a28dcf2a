package simulate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate"
)

func loadSmall(t *testing.T) *simulate.Scenario {
	t.Helper()
	s, err := simulate.LoadScenario("testdata/small.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func runJSON(t *testing.T, s *simulate.Scenario, par int) []byte {
	t.Helper()
	c, err := simulate.Simulate(context.Background(), s, simulate.Options{Parallelism: par})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The same seed gives the same JSON report, byte for byte, whatever the parallelism; another
// seed gives another report.
func TestDeterminism(t *testing.T) {
	s := loadSmall(t)
	a := runJSON(t, s, 1)
	b := runJSON(t, s, 4)
	if !bytes.Equal(a, b) {
		t.Fatalf("same seed, different reports:\n%s\n%s", a, b)
	}
	s2 := loadSmall(t)
	s2.Seed++
	if c := runJSON(t, s2, 2); bytes.Equal(a, c) {
		t.Fatal("different seeds gave identical reports")
	}
}

// The token-bucket server admits exactly its capacity: under an open-loop load ten times its
// refill rate and no retries, the accepted calls are the burst plus the refill over the run.
func TestTokenBucketServerAdmitsCapacity(t *testing.T) {
	const rate, burst, dur = 10.0, 50, 30 * time.Second
	rules := limiter.Rules{{Name: "ec2-describe", Service: "EC2", Operation: "DescribeInstances", Rate: rate, Burst: burst, Source: "test"}}
	s := &simulate.Scenario{Name: "bucket", Duration: dur, Seed: 3, Runs: 1,
		Server:     simulate.ServerSpec{Rules: rules},
		Strategies: []string{"no-retry"},
		Groups: []simulate.Group{{Name: "load", Loop: simulate.OpenLoop, Rate: 10 * rate,
			Operations: []simulate.Operation{{Service: "EC2", Operation: "DescribeInstances"}}}}}
	c, err := simulate.Simulate(context.Background(), s, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := c.Strategies[0]
	// Arrivals span almost all of [0, dur): at 100/s the first and last are within ~50 ms of
	// the ends, so the refill over the span is rate·dur less at most a token or two.
	max := uint64(burst + rate*dur.Seconds())
	if st.Successes > max || st.Successes < max-2 {
		t.Fatalf("server accepted %d calls, want %d (burst %d + %g/s × %v), at most 2 fewer", st.Successes, max, burst, rate, dur)
	}
	if st.Successes+st.Throttled != st.Attempts || st.Attempts != st.Requests {
		t.Fatalf("counts do not add up: %+v", st.Summary)
	}
}

// In the default scenario (shortened), tollgate's strategy makes far fewer throttled attempts
// and has a lower amplification than the SDK's standard mode, at equal or better goodput.
func TestTollgateBeatsStandard(t *testing.T) {
	s, _, err := simulate.EmbeddedScenario(simulate.DefaultScenarioName)
	if err != nil {
		t.Fatal(err)
	}
	s.Duration = 30 * time.Second
	s.Groups[1].Phases = []simulate.Phase{{At: 0, Rate: 1000}, {At: 10 * time.Second, Rate: 6500}, {At: 20 * time.Second, Rate: 1000}}
	s.Strategies = []string{"tollgate", "sdk-standard"}
	c, err := simulate.Simulate(context.Background(), s, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tg, std := c.Strategies[0].Summary, c.Strategies[1].Summary
	if tg.Throttled*20 > std.Throttled {
		t.Errorf("tollgate throttled %d attempts, sdk-standard %d: want at most 5%%", tg.Throttled, std.Throttled)
	}
	if tg.Amplification >= std.Amplification {
		t.Errorf("amplification: tollgate %.3f, sdk-standard %.3f", tg.Amplification, std.Amplification)
	}
	t.Logf("tollgate %+v", tg)
	t.Logf("sdk-standard %+v", std)
	if tg.GoodputPerS < std.GoodputPerS*0.98 {
		t.Errorf("goodput: tollgate %.1f/s, sdk-standard %.1f/s", tg.GoodputPerS, std.GoodputPerS)
	}
	if tg.GiveUps >= std.GiveUps {
		t.Errorf("give-ups: tollgate %d, sdk-standard %d", tg.GiveUps, std.GiveUps)
	}
}

// Every strategy's counts are consistent: attempts are throttled, failed or successful, calls
// succeed or give up for exactly one reason.
func TestCountsAddUp(t *testing.T) {
	c, err := simulate.Simulate(context.Background(), loadSmall(t), simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range c.Strategies {
		for _, g := range append([]simulate.GroupReport{{Group: "total", Summary: st.Summary}}, st.Groups...) {
			s := g.Summary
			if s.Requests != s.Successes+s.GiveUps {
				t.Errorf("%s/%s: requests %d != successes %d + give-ups %d", st.Strategy, g.Group, s.Requests, s.Successes, s.GiveUps)
			}
			if s.GiveUps != s.LimiterRefused+s.BudgetRefused+s.TimedOut+s.TimedOutInFlight+s.Exhausted+s.NonRetryable {
				t.Errorf("%s/%s: give-up reasons do not add up: %+v", st.Strategy, g.Group, s)
			}
			if s.Attempts < s.Successes+s.Throttled+s.ServerErrors {
				t.Errorf("%s/%s: attempts %d < successes+throttled+errors", st.Strategy, g.Group, s.Attempts)
			}
		}
		if st.Strategy == "no-retry" && st.Attempts != st.Requests {
			t.Errorf("no-retry made %d attempts for %d requests", st.Attempts, st.Requests)
		}
	}
}

// The engine emits the event vocabulary, with Client set, consistent with the report.
func TestObserverEvents(t *testing.T) {
	s := loadSmall(t)
	s.Runs, s.Strategies = 1, []string{"tollgate", "sdk-standard"}
	var mu sync.Mutex
	counts := map[event.Kind]uint64{}
	clients := map[string]bool{}
	obs := event.ObserverFunc(func(e event.Event) {
		mu.Lock()
		counts[e.Kind]++
		clients[e.Client] = true
		mu.Unlock()
	})
	c, err := simulate.Simulate(context.Background(), s, simulate.Options{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	var attempts, requests uint64
	for _, st := range c.Strategies {
		attempts += st.Attempts
		requests += st.Requests
	}
	if counts[event.AttemptFinished] != attempts || counts[event.CallStarted] != requests || counts[event.CallFinished] != requests {
		t.Errorf("events %v, report: %d attempts, %d requests", counts, attempts, requests)
	}
	if counts[event.LimiterWaited] == 0 || counts[event.BackoffScheduled] == 0 {
		t.Errorf("no limiter waits or backoffs reported: %v", counts)
	}
	if !clients["ec2/0"] || !clients["s3/0"] || clients[""] {
		t.Errorf("clients %v", clients)
	}
}
