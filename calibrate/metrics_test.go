package calibrate

import (
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/server"
)

func TestMedianOfSeeds(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		unit string
		want float64
	}{
		{[]float64{3, 1, 2}, "count", 2},
		{[]float64{4, 1, 2, 3}, "count", 2.5},
		{[]float64{-1, 5, 3}, "s", 5},   // never sorts last
		{[]float64{-1, -1, 3}, "s", -1}, // most seeds never
		{[]float64{-1, 2}, "s", -1},
		{[]float64{7}, "ms", 7},
	} {
		if got := median(c.xs, c.unit); got != c.want {
			t.Errorf("median(%v, %s) = %v, want %v", c.xs, c.unit, got, c.want)
		}
	}
}

// A metric carries each seed's values beside their medians, in the seeds' order.
func TestMetricsKeepEachSeed(t *testing.T) {
	v := []figures{{calls: 10, p50: 30, quotaOut: -1}, {calls: 10, p50: 10, quotaOut: 2}, {calls: 10, p50: 20, quotaOut: 3}}
	r := []figures{{calls: 10, p50: 25, quotaOut: 1}, {calls: 10, p50: 15, quotaOut: -1}, {calls: 10, p50: 40, quotaOut: -1}}
	for _, m := range metrics(v, r) {
		switch m.Name {
		case "p50 of successful calls":
			if !slices.Equal(m.VirtualBySeed, []float64{30, 10, 20}) || !slices.Equal(m.RealBySeed, []float64{25, 15, 40}) || m.Virtual != 20 || m.Real != 25 {
				t.Errorf("p50: %+v", m)
			}
		case "retry quota exhausted at":
			if !slices.Equal(m.VirtualBySeed, []float64{-1, 2, 3}) || m.Virtual != 3 || m.Real != -1 || m.Error != nil {
				t.Errorf("quota: %+v", m)
			}
		}
	}
}

// The checks: relative tolerance, or the absolute floor for shares and counts near zero.
func TestChecks(t *testing.T) {
	f := func(calls, attempts, throttled, failed, p50 float64) figures {
		return figures{calls: calls, attempts: attempts, throttled: throttled, failed: failed, p50: p50, quotaOut: -1}
	}
	verdicts := func(v, r figures) map[string]bool {
		out := map[string]bool{}
		for _, m := range metrics([]figures{v}, []figures{r}) {
			if m.Agrees != nil {
				out[m.Name] = *m.Agrees
			}
		}
		return out
	}
	got := verdicts(f(1000, 2000, 600, 100, 50), f(1000, 1700, 400, 70, 90))
	want := map[string]bool{"throttled share": false, "attempts per call": true, "calls failed": false, "p50 of successful calls": true}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: agrees %v, want %v", k, got[k], w)
		}
	}
	// Near zero: 0.4 points of throttled share, 4 failed calls of 1,000 against none.
	got = verdicts(f(1000, 1000, 4, 4, 20), f(1000, 1000, 0, 0, 21))
	if !got["throttled share"] || !got["calls failed"] {
		t.Errorf("near zero: %v", got)
	}
	// p50: 50 ms of slack, then ±50%.
	if got = verdicts(f(10, 10, 0, 0, 1040), f(10, 10, 0, 0, 2100)); got["p50 of successful calls"] {
		t.Errorf("1.04 s against 2.1 s passes")
	}
}

func TestScaling(t *testing.T) {
	if got := scaleFor(1000, 200); got != 1 {
		t.Errorf("a scenario within the headroom: scale %v", got)
	}
	if got := scaleFor(1000, 1000); got != 0.25 {
		t.Errorf("four times the headroom: scale %v, want 0.25", got)
	}
	if got := scaleFor(999, 700); got != 0.35 {
		t.Errorf("two significant digits, rounded down: %v", got)
	}
	sc := &simulate.Scenario{Name: "s", Duration: time.Second,
		Server: simulate.ServerSpec{Capacity: &server.CapacitySchedule{Steps: []server.CapacityStep{
			{Service: "EC2", Operation: "DescribeInstances", Rate: 20, Burst: 100}, {Service: "EC2", Start: time.Second, Outage: true}}}},
		Groups: []simulate.Group{
			{Name: "o", Loop: simulate.OpenLoop, Phases: []simulate.Phase{{At: 0, Rate: 100}, {At: time.Second, Rate: 400}},
				Operations: []simulate.Operation{{Service: "EC2", Operation: "DescribeInstances"}}},
			{Name: "c", Loop: simulate.ClosedLoop, Workers: 8, Operations: []simulate.Operation{{Service: "EC2", Operation: "DescribeInstances"}}},
		}}
	if d := demand(sc); d != 800 {
		t.Errorf("demand %v, want the open loop's peak 400/s at 2 attempts per call", d)
	}
	s := scaleScenario(sc, 0.5)
	if s.Groups[0].Phases[1].Rate != 200 || s.Groups[1].Workers != 8 || sc.Groups[0].Phases[1].Rate != 400 {
		t.Errorf("rates: %+v (original %+v)", s.Groups, sc.Groups)
	}
	if st := s.Server.Capacity.Steps[0]; st.Rate != 10 || st.Burst != 50 || !s.Server.Capacity.Steps[1].Outage {
		t.Errorf("capacity: %+v", s.Server.Capacity.Steps)
	}
	for _, rs := range []limiter.Rules{s.Server.Rules, s.TollgateRules} {
		r, ok := rs.Match("EC2", "DescribeInstances", "us-east-1")
		if !ok || r.Rate != 10 || r.Burst != 50 {
			t.Errorf("rules: %+v", r)
		}
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
}
