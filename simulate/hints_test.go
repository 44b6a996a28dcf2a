package simulate

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/simulate/server"
)

// The hints AWS sends come with the throttling error the simulator's server answers with.
func TestDefaultHintsGoWithTheServicesThrottles(t *testing.T) {
	list := server.DefaultHints().List()
	if len(list) == 0 {
		t.Fatal("no default hints")
	}
	for _, h := range list {
		thr, _ := serviceErrors(h.Service)
		if thr.Code != h.Code || thr.Status != h.Status {
			t.Errorf("%s: hints.csv says %s %d, the simulator throttles with %s %d", h.Service, h.Code, h.Status, thr.Code, thr.Status)
		}
	}
}

// delays records the backoff delays scheduled after throttles.
type delays struct {
	mu sync.Mutex
	d  []time.Duration
}

func (r *delays) Observe(ev event.Event) {
	if ev.Kind == event.BackoffScheduled && ev.Outcome == backoff.Throttle {
		r.mu.Lock()
		r.d = append(r.d, ev.Duration)
		r.mu.Unlock()
	}
}

func (r *delays) bounds() (lo, hi time.Duration) {
	lo = time.Hour
	for _, d := range r.d {
		lo, hi = min(lo, d), max(hi, d)
	}
	return lo, hi
}

// Each strategy honours the server's hints as the code it models does: tollgate both headers
// (a retry waits at least the hint, up to 5 s more than its backoff), the SDK's modes only
// x-amz-retry-after (Lambda's Retry-After changes nothing); hints are per service as AWS sends
// them (Lambda's Retry-After: 1 by default) or as the scenario says.
func TestStrategiesHonourHintsAsTheirCodeDoes(t *testing.T) {
	lambda := func(hints []server.Hint) *Scenario {
		return &Scenario{Name: "hints", Duration: 20 * time.Second, Seed: 3, Runs: 1,
			Server: ServerSpec{Hints: hints, Capacity: &server.CapacitySchedule{Steps: []server.CapacityStep{
				{Service: "Lambda", Operation: "GetFunction", Rate: 5, Burst: 5}}}},
			Groups: []Group{{Name: "g", Loop: OpenLoop, Rate: 20, Processes: 10, Timeout: 10 * time.Second,
				Operations: []Operation{{Service: "Lambda", Operation: "GetFunction", Resource: "f"}}}}}
	}
	ec2 := &Scenario{Name: "hints", Duration: 20 * time.Second, Seed: 3, Runs: 1,
		Server: ServerSpec{Hints: []server.Hint{{Service: "EC2", Header: server.HeaderAmzRetryAfter, Form: server.HintMilliseconds, After: 700 * time.Millisecond}},
			Capacity: &server.CapacitySchedule{Steps: []server.CapacityStep{{Service: "EC2", Operation: "DescribeInstances", Rate: 5, Burst: 5}}}},
		Groups: []Group{{Name: "g", Loop: OpenLoop, Rate: 20, Processes: 10, Timeout: 10 * time.Second,
			Operations: []Operation{{Service: "EC2", Operation: "DescribeInstances"}}}}}
	date := []server.Hint{{Service: "Lambda", Header: server.HeaderRetryAfter, Form: server.HintHTTPDate, After: 2 * time.Second}}
	none := []server.Hint{{Service: "Lambda"}}
	for _, c := range []struct {
		name     string
		sc       *Scenario
		strategy string
		lo, hi   time.Duration // bounds of the delays after throttles; lo 0: no hint honoured
	}{
		{"Lambda Retry-After: 1, tollgate", lambda(nil), "tollgate", time.Second, 7 * time.Second},
		{"Lambda Retry-After: 1, sdk-standard ignores it", lambda(nil), "sdk-standard", 0, 2 * time.Second},
		{"Lambda Retry-After: 1, sdk-adaptive ignores it", lambda(nil), "sdk-adaptive", 0, 2 * time.Second},
		{"Lambda Retry-After as an HTTP-date 2 s ahead, tollgate", lambda(date), "tollgate", 980 * time.Millisecond, 7 * time.Second},
		{"Lambda without hints, tollgate", lambda(none), "tollgate", 0, 2 * time.Second},
		{"EC2 x-amz-retry-after: 700, sdk-standard", ec2, "sdk-standard", 700 * time.Millisecond, 7 * time.Second},
		{"EC2 x-amz-retry-after: 700, tollgate", ec2, "tollgate", 700 * time.Millisecond, 7 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			sc := *c.sc
			sc.Strategies = []string{c.strategy}
			rec := &delays{}
			if _, err := Simulate(context.Background(), &sc, Options{Observer: rec}); err != nil {
				t.Fatal(err)
			}
			lo, hi := rec.bounds()
			if len(rec.d) < 10 {
				t.Fatalf("%d retries after throttles: the workload does not test hints", len(rec.d))
			}
			if lo < c.lo || hi > c.hi {
				t.Errorf("%d delays after throttles in [%v, %v], want within [%v, %v]", len(rec.d), lo, hi, c.lo, c.hi)
			}
			if c.lo == 0 && lo > 500*time.Millisecond {
				t.Errorf("delays in [%v, %v]: a hint seems honoured", lo, hi)
			}
		})
	}
}
