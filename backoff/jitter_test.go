package backoff

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestCeiling(t *testing.T) {
	b := Backoff{}
	cases := []struct {
		class Class
		retry int
		want  time.Duration
	}{
		{Throttle, 0, time.Second},
		{Throttle, 1, 2 * time.Second},
		{Throttle, 4, 16 * time.Second},
		{Throttle, 5, 20 * time.Second},
		{Throttle, 1000, 20 * time.Second},
		{Transient, 0, 50 * time.Millisecond},
		{Transient, 3, 400 * time.Millisecond},
		{Transient, 9, 20 * time.Second},
		{Timeout, 1, 100 * time.Millisecond},
		{Transient, -1, 50 * time.Millisecond},
	}
	for _, c := range cases {
		if got := b.Ceiling(c.class, c.retry); got != c.want {
			t.Errorf("Ceiling(%v, %d) = %v, want %v", c.class, c.retry, got, c.want)
		}
	}
	custom := Backoff{ThrottleBase: 3 * time.Second, Cap: 2 * time.Second}
	if got := custom.Ceiling(Throttle, 0); got != 2*time.Second {
		t.Errorf("base above cap: Ceiling = %v, want the cap", got)
	}
}

// TestJitterBounds is a property test: for many seeds, every jitter kind stays within its
// documented bounds at every retry index and for both classes.
func TestJitterBounds(t *testing.T) {
	configs := []Backoff{
		{},
		{TransientBase: 10 * time.Millisecond, ThrottleBase: 250 * time.Millisecond, Cap: 3 * time.Second},
		{TransientBase: time.Nanosecond, ThrottleBase: 2, Cap: 7},
	}
	for _, cfg := range configs {
		for _, j := range Jitters() {
			b := cfg
			b.Jitter = j
			for seed := uint64(0); seed < 200; seed++ {
				r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
				for _, class := range []Class{Throttle, Transient, Timeout} {
					var prev time.Duration
					for i := 0; i < 40; i++ {
						d := b.Delay(r, class, i, prev)
						v := b.Ceiling(class, i)
						base, limit := b.Base(class), b.cap()
						var ok bool
						switch j {
						case FullJitter:
							ok = d >= 0 && (d < v || v == 0)
						case EqualJitter:
							ok = d >= v/2 && (d < v || v == 0)
						case DecorrelatedJitter:
							upper := limit
							if p := max(prev, base); p < limit/3 {
								upper = 3 * p
							}
							ok = d >= base && d < upper || base >= limit && d == limit
						case NoJitter:
							ok = d == v
						}
						if !ok {
							t.Fatalf("%+v seed %d %v retry %d prev %v: delay %v out of bounds (v=%v)", b, seed, class, i, prev, d, v)
						}
						if j != NoJitter && base < limit && d == limit {
							t.Fatalf("%v jitter returned the cap %v unjittered", j, limit)
						}
						prev = d
					}
				}
			}
		}
	}
}

func TestFullJitterMean(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	b := Backoff{}
	for _, retry := range []int{0, 2, 6} {
		v := b.Ceiling(Throttle, retry)
		const n = 100_000
		var sum float64
		for i := 0; i < n; i++ {
			sum += float64(b.Delay(r, Throttle, retry, 0))
		}
		mean := sum / n
		want := float64(v) / 2
		if diff := (mean - want) / want; diff > 0.02 || diff < -0.02 {
			t.Errorf("retry %d: mean %v, want %v ±2%% (off by %.2f%%)", retry, time.Duration(mean), time.Duration(want), diff*100)
		}
	}
}

func TestDecorrelatedNeverLeavesBaseAndCap(t *testing.T) {
	b := Backoff{Jitter: DecorrelatedJitter}
	r := rand.New(rand.NewPCG(7, 7))
	prev := time.Duration(0)
	sawNearCap := false
	for i := 0; i < 1_000_000; i++ {
		d := b.Delay(r, Throttle, i%30, prev)
		if d < DefaultThrottleBase || d >= DefaultCap {
			t.Fatalf("draw %d: %v outside [1s, 20s)", i, d)
		}
		if d > 19*time.Second {
			sawNearCap = true
		}
		prev = d
	}
	if !sawNearCap {
		t.Error("a million chained draws never came within 1 s of the cap: the chain is not growing")
	}
}

func TestSeedReproducesSequence(t *testing.T) {
	draw := func() []time.Duration {
		r := rand.New(rand.NewPCG(42, 43))
		var out []time.Duration
		for _, j := range Jitters() {
			b := Backoff{Jitter: j}
			prev := time.Duration(0)
			for i := 0; i < 8; i++ {
				prev = b.Delay(r, Throttle, i, prev)
				out = append(out, prev)
			}
		}
		return out
	}
	a, b := draw(), draw()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("draw %d differs between runs with one seed: %v vs %v", i, a[i], b[i])
		}
	}
}

func TestParseJitter(t *testing.T) {
	for _, j := range Jitters() {
		got, err := ParseJitter(j.String())
		if err != nil || got != j {
			t.Errorf("ParseJitter(%q) = %v, %v", j.String(), got, err)
		}
	}
	if _, err := ParseJitter("fancy"); err == nil {
		t.Error("ParseJitter accepted an unknown name")
	}
}

func TestBackoffValidate(t *testing.T) {
	if err := (Backoff{}).Validate(); err != nil {
		t.Errorf("zero Backoff: %v", err)
	}
	if err := (Backoff{Cap: -1}).Validate(); err == nil {
		t.Error("negative cap accepted")
	}
	if err := (Backoff{Jitter: 9}).Validate(); err == nil {
		t.Error("unknown jitter accepted")
	}
}
