package middleware

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/emulator"
	"github.com/tollgate/tollgate/simulate/server"
)

// The setup of TestAdaptiveLimitsInRealClientsMatchTheSimulator: processes that each run the
// README's one-line install (limiter.New(limiter.DefaultRules()), adaptive) in an EC2 client
// share one account whose DescribeInstances bucket is lower than the published one the clients
// know (10/s and 50 burst against the default 20/s and 100): the clients are not told.
const (
	fleetProcesses = 6
	fleetRate      = 12.0 // calls per second, all processes together: 2.4× the bucket's rate
	fleetDuration  = 720 * time.Second
	fleetTimeout   = 10 * time.Second
	fleetLatency   = 20 * time.Millisecond
)

func fleetServerRules() limiter.Rules {
	return server.MergeRules(limiter.DefaultRules(), limiter.Rules{{Name: "ec2-describe-instances-lowered",
		Service: "EC2", Operation: "DescribeInstances", Rate: 5, Burst: 25, Source: "test: a lowered account quota"}})
}

// attemptCounts are attempts and throttled attempts, by half of the run.
type attemptCounts struct {
	attempts, throttled [2]int
}

func (c attemptCounts) share(half int) float64 {
	return float64(c.throttled[half]) / float64(max(c.attempts[half], 1))
}

// whole is the throttled share of the whole run.
func (c attemptCounts) whole() float64 {
	return float64(c.throttled[0]+c.throttled[1]) / float64(max(c.attempts[0]+c.attempts[1], 1))
}

// halfCounter is an event.Observer counting attempts by half of a run that started at start.
type halfCounter struct {
	start time.Time
	mu    sync.Mutex
	c     attemptCounts
}

func (a *halfCounter) Observe(e event.Event) {
	if e.Kind != event.AttemptFinished {
		return
	}
	half := min(int(2*e.Time.Sub(a.start)/fleetDuration), 1)
	a.mu.Lock()
	a.c.attempts[half]++
	if e.Outcome == backoff.Throttle {
		a.c.throttled[half]++
	}
	a.mu.Unlock()
}

// TestAdaptiveLimitsInRealClientsMatchTheSimulator runs the fleet with real aws-sdk-go-v2 EC2
// clients through tollgate's middleware against the in-process emulator, in virtual time
// (testing/synctest), and the same setup in the simulator: the throttled share of attempts
// falls once the clients have learned their shares, and over the run and in its second half it
// is the simulator's within ±25%. (The real run is deterministic for its seed; over seeds 1 to 6
// its shares stay within 17% of the simulator's.)
func TestAdaptiveLimitsInRealClientsMatchTheSimulator(t *testing.T) {
	real := runRealFleet(t, 1)
	sim := simulateFleet(t)
	t.Logf("real SDK clients: throttled %d of %d attempts (%.2f%%) in the first half, %d of %d (%.2f%%) in the second",
		real.throttled[0], real.attempts[0], 100*real.share(0), real.throttled[1], real.attempts[1], 100*real.share(1))
	t.Logf("simulator:        throttled %d of %d attempts (%.2f%%) in the first half, %d of %d (%.2f%%) in the second",
		sim.throttled[0], sim.attempts[0], 100*sim.share(0), sim.throttled[1], sim.attempts[1], 100*sim.share(1))
	if !(real.share(1) < real.share(0)) {
		t.Errorf("the throttled share did not fall: %.2f%% then %.2f%%", 100*real.share(0), 100*real.share(1))
	}
	for _, c := range []struct {
		what      string
		real, sim float64
	}{{"the whole run", real.whole(), sim.whole()}, {"the second half", real.share(1), sim.share(1)}} {
		if lo, hi := 0.75*c.sim, 1.25*c.sim; c.real < lo || c.real > hi {
			t.Errorf("%s: real clients %.2f%% throttled, want the simulator's %.2f%% ±25%% [%.2f%%, %.2f%%]",
				c.what, 100*c.real, 100*c.sim, 100*lo, 100*hi)
		}
	}
}

// runRealFleet runs the fleet's processes as real EC2 clients, each with its own Tollgate (the
// one-line install), sending DescribeInstances (paginated, so the non-mutating bucket) at
// Poisson arrivals, against one emulator, in a synctest bubble.
func runRealFleet(t *testing.T, seed uint64) attemptCounts {
	var counts attemptCounts
	synctest.Test(t, func(t *testing.T) {
		emu := newEmulator(t, emulator.Options{Seed: seed, Rules: fleetServerRules(), Latency: fleetLatency})
		hc := newHandlerClient(emu)
		obs := &halfCounter{start: time.Now()}
		end := time.Now().Add(fleetDuration)
		var wg sync.WaitGroup
		for p := range fleetProcesses {
			tg := mustNew(t, Config{Limiter: limiter.New(limiter.DefaultRules()), Observer: obs, Seed: seed*100 + uint64(p) + 1})
			client := ec2.NewFromConfig(awsConfig("http://emulator.test", hc), func(o *ec2.Options) {
				o.Retryer = tg.NewRetryer()
				o.APIOptions = append(o.APIOptions, tg.AddToStack)
			})
			rng := rand.New(rand.NewPCG(seed, uint64(p)))
			wg.Go(func() {
				var calls sync.WaitGroup
				for now := time.Now(); now.Before(end); now = time.Now() {
					time.Sleep(time.Duration(rng.ExpFloat64() / (fleetRate / fleetProcesses) * float64(time.Second)))
					calls.Go(func() {
						ctx, cancel := context.WithTimeout(context.Background(), fleetTimeout)
						defer cancel()
						client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
					})
				}
				calls.Wait()
			})
		}
		wg.Wait()
		counts = obs.c
	})
	return counts
}

// simulateFleet runs the same fleet in the simulator, the tollgate strategy (the one-line
// install) over four seeds, and returns its attempts by half.
func simulateFleet(t *testing.T) attemptCounts {
	t.Helper()
	sc := &simulate.Scenario{
		Name: "adaptive-sdk-mirror", Duration: fleetDuration, Seed: 1, Runs: 4,
		Server: simulate.ServerSpec{Rules: fleetServerRules()},
		Groups: []simulate.Group{{
			Name: "fleet", Loop: simulate.OpenLoop, Processes: fleetProcesses, Rate: fleetRate,
			Timeout: fleetTimeout, RTT: fleetLatency,
			Operations: []simulate.Operation{{Service: "EC2", Operation: "DescribeInstances", Region: "us-east-1"}},
		}},
	}
	cmp, err := simulate.SimulateStrategies(context.Background(), sc,
		[]simulate.Strategy{&simulate.Tollgate{Rules: limiter.DefaultRules()}}, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var c attemptCounts
	s := cmp.Strategies[0].Series
	for i := range s.Attempts {
		half := min(int(2*float64(i)*s.WidthS/fleetDuration.Seconds()), 1)
		c.attempts[half] += int(s.Attempts[i])
		c.throttled[half] += int(s.Throttled[i])
	}
	return c
}

// retryAfterHandler adds an x-amz-retry-after header (milliseconds) to every HTTP 503 the
// emulator answers, as some AWS services do.
type retryAfterHandler struct {
	next http.Handler
	ms   string
}

func (h retryAfterHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.next.ServeHTTP(retryAfterWriter{ResponseWriter: w, ms: h.ms}, r)
}

type retryAfterWriter struct {
	http.ResponseWriter
	ms string
}

func (w retryAfterWriter) WriteHeader(status int) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("X-Amz-Retry-After", w.ms)
	}
	w.ResponseWriter.WriteHeader(status)
}

// AWS's answers teach the client's limiter through the middleware: throttles cut the key's
// rate (reported as RateChanged events with the rule and the new rate), a throttle's
// x-amz-retry-after pauses the key for every call, not only the retried one, and successes
// while calls wait let the rate grow back.
func TestThrottlesTeachTheLimiterThroughTheMiddleware(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emu := newEmulator(t, emulator.Options{Seed: 2, Faults: faults(t, `
windows:
  - service: ec2
    operation: DescribeInstances
    start: 0s
    duration: 3s
    mode: throttle
`)})
		hc := newHandlerClient(retryAfterHandler{next: emu, ms: "1500"})
		rec := &recorder{}
		lim := limiter.New(limiter.DefaultRules())
		tg := mustNew(t, Config{Limiter: lim, Observer: rec, Seed: 3, Policy: backoff.Policy{MaxAttempts: 1}})
		client := ec2.NewFromConfig(awsConfig("http://emulator.test", hc), func(o *ec2.Options) {
			o.Retryer = tg.NewRetryer()
			o.APIOptions = append(o.APIOptions, tg.AddToStack)
		})
		describe := func() (time.Duration, error) {
			start := time.Now()
			_, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
			return time.Since(start), err
		}
		// The first throttle arms the key and carries a 1.5 s hint: the next call, a new one,
		// waits for it.
		if _, err := describe(); err == nil {
			t.Fatal("no throttle inside the fault window")
		}
		if d, _ := describe(); d < 1500*time.Millisecond {
			t.Errorf("a new call after x-amz-retry-after: 1500 waited %v, want ≥ 1.5s", d)
		}
		// Throttles past the reaction window cut the rate.
		for time.Since(synctestStart(rec)) < 3*time.Second {
			describe()
		}
		cuts := rec.kinds(event.RateChanged)
		if len(cuts) == 0 {
			t.Fatal("no RateChanged event")
		}
		c := cuts[0]
		if c.Reason != "cut" || c.Rule != "ec2-non-mutating" || !(c.Value > 0 && c.Value < 20) || c.Capacity <= 0 ||
			c.Service != "EC2" || c.Operation != "DescribeInstances" {
			t.Errorf("cut event %+v", c)
		}
		st, _ := lim.RuleStats("ec2-non-mutating")
		if st.Cuts == 0 || st.Learned != 1 || st.Throttled == 0 {
			t.Errorf("rule stats %+v", st)
		}
		// The window is over: demand above the learned rate lets it grow back.
		var wg sync.WaitGroup
		for range 160 {
			wg.Go(func() { describe() })
			time.Sleep(25 * time.Millisecond)
		}
		wg.Wait()
		growths := 0
		for _, e := range rec.kinds(event.RateChanged) {
			if e.Reason == "growth" {
				growths++
			}
		}
		if rate, _, _, _ := lim.Rate(time.Now(), limiter.Key{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}); growths == 0 || rate <= c.Value {
			t.Errorf("%d growth events, rate %v after the cut to %v", growths, rate, c.Value)
		}
	})
}

// synctestStart returns the time of the first event recorded (the bubble's start).
func synctestStart(r *recorder) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[0].Time
}
