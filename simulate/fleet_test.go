package simulate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/simulate"
)

func runStrategies(t *testing.T, s *simulate.Scenario, names ...string) map[string]simulate.StrategyReport {
	t.Helper()
	s.Strategies = names
	c, err := simulate.Simulate(context.Background(), s, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]simulate.StrategyReport{}
	for _, st := range c.Strategies {
		out[st.Strategy] = st
	}
	return out
}

// TestFleetStrategyEC2Fleet: in the embedded ec2-fleet scenario (20 processes offer five times
// DescribeInstances' 20/s for 10 minutes), the processes of tollgate-fleet share the bucket
// through the modelled store: at most 1% of their attempts are throttled, and at least 97% of
// the server's capacity goes to calls they admitted — over several seeds. The one-line install
// without the store (tollgate) is throttled more, which is what the store is for.
func TestFleetStrategyEC2Fleet(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		s, _, err := simulate.EmbeddedScenario("ec2-fleet")
		if err != nil {
			t.Fatal(err)
		}
		s.Seed = seed
		r := runStrategies(t, s, "tollgate", "tollgate-fleet")
		fl, alone := r["tollgate-fleet"], r["tollgate"]
		t.Logf("seed %d: tollgate-fleet %d of %d attempts throttled, goodput %.2f/s (%.1f%% of capacity; %d calls cancelled in flight), p50 %.0f ms; tollgate %d throttled",
			seed, fl.Throttled, fl.Attempts, fl.GoodputPerS, 100*fl.CapacityShare, fl.TimedOutInFlight, fl.LatencyP50Ms, alone.Throttled)
		if float64(fl.Throttled) > 0.01*float64(fl.Attempts) {
			t.Errorf("seed %d: %d of %d attempts throttled, want ≤ 1%%", seed, fl.Throttled, fl.Attempts)
		}
		if fl.CapacityShare < 0.97 {
			t.Errorf("seed %d: goodput %.1f%% of capacity, want ≥ 97%%", seed, 100*fl.CapacityShare)
		}
		if fl.Throttled >= alone.Throttled {
			t.Errorf("seed %d: the fleet store did not throttle less (%d) than processes alone (%d)", seed, fl.Throttled, alone.Throttled)
		}
	}
}

// TestFleetStrategyStoreFaults: the ec2-fleet fleet with a store that is unreachable for 30 s
// and restarted empty later. Fail-open, the processes keep calling through their fallback
// shares (1/20 of the bucket each) and return to leases: goodput stays at the capacity and the
// faults cost a few throttles; fail-closed, the outage costs goodput and no throttle.
func TestFleetStrategyStoreFaults(t *testing.T) {
	s, _, err := simulate.EmbeddedScenario("ec2-fleet")
	if err != nil {
		t.Fatal(err)
	}
	s.Duration = 3 * time.Minute
	s.Store.Outages = []simulate.StoreOutage{{From: 60 * time.Second, To: 90 * time.Second}}
	s.Store.Restarts = []time.Duration{120 * time.Second}
	open := runStrategies(t, s, "tollgate-fleet")["tollgate-fleet"]
	s.Store.FailClosed = true
	closed := runStrategies(t, s, "tollgate-fleet")["tollgate-fleet"]
	for _, x := range []struct {
		name string
		r    simulate.StrategyReport
	}{{"fail-open", open}, {"fail-closed", closed}} {
		t.Logf("%s: %d of %d attempts throttled, goodput %.2f/s (%.1f%% of capacity; %d calls cancelled in flight), limiter refusals %d",
			x.name, x.r.Throttled, x.r.Attempts, x.r.GoodputPerS, 100*x.r.CapacityShare, x.r.TimedOutInFlight, x.r.LimiterRefused)
	}
	if open.CapacityShare < 0.95 || float64(open.Throttled) > 0.02*float64(open.Attempts) {
		t.Errorf("fail-open: goodput %.1f%% of capacity, %d of %d throttled; want ≥ 95%% and ≤ 2%%",
			100*open.CapacityShare, open.Throttled, open.Attempts)
	}
	// Fail-closed: nothing is sent for most of the 30 s outage (a sixth of the run), so goodput
	// falls by about that much, and nothing is over-admitted.
	if closed.CapacityShare > 0.9 || closed.Throttled > open.Throttled {
		t.Errorf("fail-closed: goodput %.1f%% of capacity, %d throttled; want the outage's goodput lost and no more throttles than fail-open (%d)",
			100*closed.CapacityShare, closed.Throttled, open.Throttled)
	}
}

// TestScenarioStoreFields: the store block of a scenario file, and its errors with line and
// field.
func TestScenarioStoreFields(t *testing.T) {
	const base = `name: s
duration: 10s
groups:
  - name: g
    loop: open
    rate: 10
    operations: [{service: EC2, operation: DescribeInstances}]
`
	s, err := simulate.ParseScenario("s.yaml", []byte(base+`store:
  rtt: 2ms
  timeout: 40ms
  lease: 4s
  fallback_share: 0.25
  fail_closed: true
  outages: [{from: 2s, to: 5s}]
  restarts: [7s]
  rules: [ec2-*]
`), "")
	if err != nil {
		t.Fatal(err)
	}
	want := simulate.StoreSpec{RTT: 2 * time.Millisecond, Timeout: 40 * time.Millisecond, Lease: 4 * time.Second,
		FallbackShare: 0.25, FailClosed: true, Outages: []simulate.StoreOutage{{From: 2 * time.Second, To: 5 * time.Second}},
		Restarts: []time.Duration{7 * time.Second}, Rules: []string{"ec2-*"}}
	if got := s.Store; got.RTT != want.RTT || got.Timeout != want.Timeout || got.Lease != want.Lease ||
		got.FallbackShare != want.FallbackShare || !got.FailClosed || len(got.Outages) != 1 || got.Outages[0] != want.Outages[0] ||
		len(got.Restarts) != 1 || got.Restarts[0] != want.Restarts[0] || len(got.Rules) != 1 || got.Rules[0] != "ec2-*" {
		t.Errorf("store %+v, want %+v", got, want)
	}
	for _, c := range []struct{ yaml, want string }{
		{"store:\n  fallback_share: 2\n", `s.yaml:9: field "store.fallback_share": a share of the bucket`},
		{"store:\n  outages: [{from: 5s, to: 2s}]\n", `s.yaml:9: field "store.outages[0]": to (2s) must be after from (5s)`},
		{"store:\n  rtt: 60ms\n  timeout: 50ms\n", `s.yaml:9: field "store": timeout 50ms: must be longer than its rtt`},
		{"store:\n  lease: soon\n", `s.yaml:9: field "store.lease": want a duration`},
		{"store:\n  redis: localhost\n", `s.yaml:9: field "store.redis": unknown field`},
		{"store:\n  rules: ['[']\n", `s.yaml:9: field "store.rules[0]": bad glob`},
	} {
		_, err := simulate.ParseScenario("s.yaml", []byte(base+c.yaml), "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.yaml, err, c.want)
		}
	}
}
