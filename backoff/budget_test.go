package backoff

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestTokenQuotaSteps walks the SDK retry quota through a script and checks the tokens left after
// every step against the model: start 500; throttle retry −5; transient retry −14; timeout retry
// −14; successful retry refunds its cost; successful first attempt +1 (never above capacity);
// refusal spends nothing.
func TestTokenQuotaSteps(t *testing.T) {
	q := NewTokenQuota(TokenQuotaConfig{})
	type step struct {
		op    string // "retry", "ok-first", "ok-retry"
		class Class
		want  float64
		ok    bool
	}
	var last Spend
	steps := []step{
		{"ok-first", 0, 500, true}, // capped at capacity
		{"retry", Throttle, 495, true},
		{"retry", Transient, 481, true},
		{"ok-retry", 0, 495, true}, // refunds the transient retry's 14
		{"retry", Timeout, 481, true},
		{"ok-first", 0, 482, true},
		{"retry", Throttle, 477, true},
		{"ok-retry", 0, 482, true},
	}
	for i, s := range steps {
		switch s.op {
		case "retry":
			sp, ok := q.AcquireRetry(t0, s.class)
			if ok != s.ok {
				t.Fatalf("step %d: acquire ok=%v", i, ok)
			}
			last = sp
		case "ok-first":
			q.OnSuccess(t0, Spend{})
		case "ok-retry":
			q.OnSuccess(t0, last)
		}
		if got := q.Level(t0).Available; got != s.want {
			t.Fatalf("step %d (%s %v): %v tokens, want %v", i, s.op, s.class, got, s.want)
		}
	}
	// Drain with transient retries: 482 = 34·14 + 6, so 34 succeed and the 35th is refused.
	n := 0
	for {
		if _, ok := q.AcquireRetry(t0, Transient); !ok {
			break
		}
		n++
	}
	if n != 34 || q.Level(t0).Available != 6 {
		t.Fatalf("drained %d retries leaving %v tokens, want 34 leaving 6", n, q.Level(t0).Available)
	}
	// 6 tokens still pay for one throttle retry (5), not two.
	if _, ok := q.AcquireRetry(t0, Throttle); !ok {
		t.Fatal("throttle retry refused with 6 tokens")
	}
	if _, ok := q.AcquireRetry(t0, Throttle); ok {
		t.Fatal("throttle retry allowed with 1 token")
	}
	if got := q.Level(t0); got.Available != 1 || got.Capacity != 500 {
		t.Fatalf("level %+v", got)
	}
}

// ratioModel is a direct transcription of Finagle's TokenRetryBudget over a WindowedAdder:
// every event is kept with its slice; the window sum is the sum of events whose slice lies within
// the last n slices.
type ratioModel struct {
	deposit, withdraw, reserve, slice int64
	n                                 int64
	events                            []struct{ slice, units int64 }
	newest                            int64
}

func (m *ratioModel) sum(now time.Time) int64 {
	cur := max(now.UnixNano()/m.slice, m.newest)
	m.newest = cur
	var s int64
	kept := m.events[:0]
	for _, e := range m.events {
		if e.slice > cur-m.n {
			s += e.units
			kept = append(kept, e) // events leave the window for good: time never goes back past newest
		}
	}
	m.events = kept
	return s
}

func (m *ratioModel) add(now time.Time, units int64) {
	m.sum(now)
	m.events = append(m.events, struct{ slice, units int64 }{m.newest, units})
}

func (m *ratioModel) tryRetry(now time.Time) bool {
	if m.reserve+m.sum(now) < m.withdraw {
		return false
	}
	m.add(now, -m.withdraw)
	return true
}

func TestRatioBudgetMatchesModel(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 99))
		b := NewRatioBudget(RatioBudgetConfig{Percent: 0.2, MinPerSec: 1, TTL: 10 * time.Second, Slices: 10})
		m := &ratioModel{deposit: 200, withdraw: 1000, reserve: 10_000, slice: int64(time.Second), n: 10}
		now := t0
		for step := 0; step < 5000; step++ {
			now = now.Add(time.Duration(r.Int64N(int64(300 * time.Millisecond))))
			if r.IntN(10) == 0 {
				now = now.Add(-time.Duration(r.Int64N(int64(2 * time.Second)))) // clocks can step back
			}
			if r.IntN(3) == 0 {
				b.OnRequest(now)
				m.add(now, m.deposit)
			} else {
				_, got := b.AcquireRetry(now, Transient)
				want := m.tryRetry(now)
				if got != want {
					t.Fatalf("seed %d step %d: retry allowed=%v, model says %v", seed, step, got, want)
				}
			}
			if got, want := b.Level(now).Available, float64(max(m.reserve+m.sum(now), 0))/1000; got != want {
				t.Fatalf("seed %d step %d: available %v, model %v", seed, step, got, want)
			}
		}
	}
}

// TestRatioBudgetSteps checks the accounting by hand: 20% of requests plus the floor.
func TestRatioBudgetSteps(t *testing.T) {
	b := NewRatioBudget(RatioBudgetConfig{Percent: 0.2, MinPerSec: 0.1, TTL: 10 * time.Second, Slices: 10})
	// Floor: 0.1/s · 10 s = 1 retry per window.
	if got := b.Level(t0).Available; got != 1 {
		t.Fatalf("empty budget: %v retries available, want 1", got)
	}
	for i := 0; i < 10; i++ {
		b.OnRequest(t0) // 10 requests deposit 2 retries
	}
	if got := b.Level(t0).Available; got != 3 {
		t.Fatalf("after 10 requests: %v, want 3", got)
	}
	for i := 0; i < 3; i++ {
		if _, ok := b.AcquireRetry(t0.Add(time.Second), Throttle); !ok {
			t.Fatalf("retry %d refused", i)
		}
	}
	if _, ok := b.AcquireRetry(t0.Add(time.Second), Throttle); ok {
		t.Fatal("fourth retry allowed")
	}
	// After 10 s the deposits at t0 expire; the withdrawals made at t0+1s are still in the window,
	// so the balance is 1 − 3 = −2 until they expire at t0+11s.
	if got := b.Level(t0.Add(10 * time.Second)).Available; got != 0 {
		t.Fatalf("at t0+10s: %v available, want 0 (balance is negative)", got)
	}
	if got := b.Level(t0.Add(11 * time.Second)).Available; got != 1 {
		t.Fatalf("at t0+11s: %v available, want the floor 1", got)
	}
}

func TestBudgetsConcurrent(t *testing.T) {
	for _, b := range []Budget{NewTokenQuota(TokenQuotaConfig{}), NewRatioBudget(RatioBudgetConfig{})} {
		var wg sync.WaitGroup
		var mu sync.Mutex
		granted := 0
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 500; i++ {
					if _, ok := b.AcquireRetry(t0, Throttle); ok {
						mu.Lock()
						granted++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		// TokenQuota: 500/5 = 100 retries. RatioBudget: floor 10/s · 10 s = 100 retries.
		if granted != 100 {
			t.Errorf("%s: %d retries granted concurrently, want exactly 100", b.Name(), granted)
		}
	}
}
