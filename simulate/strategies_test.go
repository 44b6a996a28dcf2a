package simulate

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tollgate/tollgate/backoff"
)

var throttle = backoff.Signal{Code: "RequestLimitExceeded", Status: 503}

// The legacy mode follows its specification: delay b·2^n s (n the failed attempt) until n > 4,
// then exactly 20 s; 5 tokens per retry, refunded on success; +1 per successful attempt.
func TestLegacySpec(t *testing.T) {
	c := (&SDKLegacy{MaxAttempts: 8}).NewClient(ClientEnv{Rand: rand.New(rand.NewPCG(1, 2))}).(*legacyClient)
	var call Call
	now := Epoch
	c.Start(now, &call)
	for n := 1; n <= 7; n++ {
		call.Attempt = n
		d := c.Finish(now, &call, throttle)
		if !d.Retry {
			t.Fatalf("attempt %d: no retry: %+v", n, d)
		}
		if n > 4 {
			if d.Delay != 20*time.Second {
				t.Errorf("attempt %d: delay %v, want exactly 20s", n, d.Delay)
			}
		} else if hi := time.Duration(1<<n) * time.Second; d.Delay < 0 || d.Delay >= hi {
			t.Errorf("attempt %d: delay %v outside [0, %v)", n, d.Delay, hi)
		}
		if want := 500 - 5*n; c.available != want {
			t.Errorf("attempt %d: quota %d, want %d", n, c.available, want)
		}
	}
	call.Attempt = 8
	if d := c.Finish(now, &call, throttle); d.Retry || d.Stop != "max_attempts" {
		t.Errorf("8th failure: %+v, want max_attempts", d)
	}
	// A successful retry refunds its 5 tokens and adds 1.
	c.available = 100
	call.Attempt = 1
	c.Finish(now, &call, throttle) // 95, retry holds 5
	call.Attempt = 2
	c.Finish(now, &call, backoff.Signal{})
	if c.available != 101 {
		t.Errorf("after a successful retry: quota %d, want 101 (95 + 5 refund + 1)", c.available)
	}
	c.Start(now, &call)
	c.Finish(now, &call, backoff.Signal{})
	if c.available != 102 {
		t.Errorf("after a first-attempt success: quota %d, want 102", c.available)
	}
	// With too few tokens the retry is refused on the client side.
	c.available = 4
	call.Attempt = 1
	if d := c.Finish(now, &call, throttle); d.Retry || d.Stop != "budget" || !d.ClientSide {
		t.Errorf("empty quota: %+v, want a client-side budget refusal", d)
	}
}

// The adaptive limiter follows §1.7: disabled until the first throttle; then fill rate
// 0.7 × measured rate (min 0.5/s), capacity max(rate, 1); CUBIC growth after.
func TestCubicLimiter(t *testing.T) {
	l := NewCubicLimiter(Epoch)
	t0 := Epoch
	// 10 completed attempts per 0.5 s bucket for 5 s: measured rate converges to 20/s.
	for i := 0; i < 100; i++ {
		now := t0.Add(time.Duration(i) * 50 * time.Millisecond)
		if ok, _ := l.Acquire(now); !ok {
			t.Fatal("disabled limiter refused")
		}
		l.Update(now, false)
	}
	if l.Enabled() {
		t.Fatal("enabled before any throttle")
	}
	if math.Abs(l.measuredRate-20) > 0.1 {
		t.Fatalf("measured rate %g, want about 20", l.measuredRate)
	}
	th := t0.Add(5 * time.Second)
	measured := l.measuredRate
	l.Update(th, true)
	if !l.Enabled() {
		t.Fatal("not enabled by a throttle")
	}
	// The throttle closes the 0.5 s bucket at 5 s: measured rate moves once more.
	if want := 0.7 * l.measuredRate; math.Abs(l.FillRate()-want) > 1e-9 {
		t.Errorf("fill rate after throttle %g, want 0.7 × %g (was %g)", l.FillRate(), l.measuredRate, measured)
	}
	if math.Abs(l.capacity-l.FillRate()) > 1e-9 {
		t.Errorf("capacity %g, want the new rate %g", l.capacity, l.FillRate())
	}
	// Drain the bucket (it refilled while disabled, as the SDK's does); then an acquire waits
	// (1-available)/fill.
	n := 0
	for ok, _ := l.Acquire(th); ok; ok, _ = l.Acquire(th) {
		n++
	}
	if float64(n) > l.capacity {
		t.Errorf("acquired %d tokens at once from a bucket of capacity %g", n, l.capacity)
	}
	left := l.tokens
	ok, wait := l.Acquire(th)
	if want := (1 - left) / l.FillRate(); ok || math.Abs(wait.Seconds()-want) > 1e-6 {
		t.Errorf("acquire on an empty bucket: ok %v wait %v, want wait %vs", ok, wait, want)
	}
	// CUBIC: at lastThrottle + timeWindow the rate is back to lastMaxRate.
	k := l.timeWindow
	l.Update(th.Add(time.Duration(k*float64(time.Second))), false)
	if math.Abs(l.calculatedRate-l.lastMaxRate) > 1e-6 {
		t.Errorf("calculated rate at the time window %g, want lastMaxRate %g", l.calculatedRate, l.lastMaxRate)
	}
	// The fill rate never goes below 0.5/s.
	l2 := NewCubicLimiter(Epoch)
	l2.Update(t0, true)
	if l2.FillRate() != 0.5 || l2.capacity != 1 {
		t.Errorf("fill rate %g capacity %g with no measured rate, want 0.5 and 1", l2.FillRate(), l2.capacity)
	}
}

// Per-client state: two processes of one group each have their own SDK retry quota.
func TestQuotaPerClient(t *testing.T) {
	s := &SDKStandard{}
	a := s.NewClient(ClientEnv{Rand: rand.New(rand.NewPCG(1, 1))}).(*policyClient)
	b := s.NewClient(ClientEnv{Rand: rand.New(rand.NewPCG(1, 1))}).(*policyClient)
	var call Call
	a.Start(Epoch, &call)
	call.Attempt = 1
	a.Finish(Epoch, &call, throttle)
	if la, lb := a.policy.Budget.Level(Epoch).Available, b.policy.Budget.Level(Epoch).Available; la != 495 || lb != 500 {
		t.Errorf("quotas %g and %g, want 495 and 500", la, lb)
	}
}

func TestHistogram(t *testing.T) {
	var h Histogram
	for i := 1; i <= 100000; i++ {
		h.Add(time.Duration(i) * time.Microsecond)
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		want := q * 100000 * float64(time.Microsecond)
		if got := float64(h.Quantile(q)); math.Abs(got-want)/want > 1.0/64 {
			t.Errorf("q%g = %v, want %v within 1.6%%", q, time.Duration(got), time.Duration(want))
		}
	}
	if h.Max() != 100*time.Millisecond {
		t.Errorf("max %v", h.Max())
	}
	for i := 0; i < histBuckets; i++ {
		lo, hi := histBounds(i)
		if histIndex(lo) != i || histIndex(hi-1) != i {
			t.Fatalf("bucket %d: bounds [%d, %d) map to %d and %d", i, lo, hi, histIndex(lo), histIndex(hi-1))
		}
	}
}

// The event queue pops in (time, scheduling order), whatever mix of in-order events (lanes)
// and out-of-order ones (heap) it holds, including events pushed while popping.
func TestEventQueueOrder(t *testing.T) {
	var h eventHeap
	rng := rand.New(rand.NewPCG(5, 5))
	now := int64(0)
	pushed, popped := 0, 0
	var last simEvent
	for step := 0; step < 200000; step++ {
		if h.len() == 0 || (pushed < 100000 && rng.IntN(2) == 0) {
			var at int64
			switch rng.IntN(4) {
			case 0:
				at = now + rng.Int64N(1000) // out of order
			case 1:
				at = now // ties
			default:
				at = now + 10 + int64(rng.IntN(2)) // nearly constant delays
			}
			h.push(at, evSend, int32(pushed))
			pushed++
			continue
		}
		e := h.pop()
		if popped > 0 && e.before(&last) {
			t.Fatalf("popped %+v after %+v", e, last)
		}
		last, now = e, e.at
		popped++
	}
	for h.len() > 0 {
		e := h.pop()
		if e.before(&last) {
			t.Fatalf("popped %+v after %+v", e, last)
		}
		last = e
		popped++
	}
	if popped != pushed {
		t.Fatalf("pushed %d, popped %d", pushed, popped)
	}
}
