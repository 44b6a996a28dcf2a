package backoff

import (
	"sync"
	"time"
)

// RatioBudget allows retries up to a fraction of recent requests plus a floor, over a sliding
// window — Finagle's RetryBudget (com.twitter.finagle.service.RetryBudget, TokenRetryBudget):
//
//   - every request deposits Percent·1000 units;
//   - every retry withdraws 1000 units;
//   - deposits and withdrawals expire after TTL (a windowed sum kept in Slices time slices);
//   - a constant reserve of MinPerSec·TTL·1000 units is always added, so a client that sends few
//     requests can still retry MinPerSec times per second;
//   - a retry is allowed when reserve + windowed sum ≥ 1000.
//
// With the defaults (20%, 10/s, 10 s) a client sending 1,000 requests per second may retry about
// 200 times per second plus 10: retries cannot multiply the load in a long outage.
type RatioBudget struct {
	deposit, withdraw, reserve int64
	sliceNanos                 int64

	mu        sync.Mutex
	slices    []int64 // ring: sum of units added in each slice
	lastSlice int64   // index (absolute, since the zero time) of the newest slice touched
	started   bool
}

// RatioBudgetConfig holds RatioBudget's parameters. A zero field takes its default.
type RatioBudgetConfig struct {
	Percent   float64       // retries as a fraction of requests; default 0.2
	MinPerSec float64       // retries always allowed per second; default 10
	TTL       time.Duration // window; default 10 s
	Slices    int           // window resolution; default 10
}

const ratioUnit = 1000

// NewRatioBudget returns a RatioBudget.
func NewRatioBudget(cfg RatioBudgetConfig) *RatioBudget {
	if cfg.Percent <= 0 {
		cfg.Percent = 0.2
	}
	if cfg.MinPerSec <= 0 {
		cfg.MinPerSec = 10
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Second
	}
	if cfg.Slices <= 0 {
		cfg.Slices = 10
	}
	slice := int64(cfg.TTL) / int64(cfg.Slices)
	if slice <= 0 {
		slice = 1
	}
	return &RatioBudget{
		deposit:    int64(cfg.Percent * ratioUnit),
		withdraw:   ratioUnit,
		reserve:    int64(cfg.MinPerSec * cfg.TTL.Seconds() * ratioUnit),
		sliceNanos: slice,
		slices:     make([]int64, cfg.Slices),
	}
}

// Name returns "ratio".
func (b *RatioBudget) Name() string { return "ratio" }

// advance expires slices older than the window as of now and returns the current slice index.
// Time that goes backwards is treated as the newest time seen.
func (b *RatioBudget) advance(now time.Time) int {
	cur := now.UnixNano() / b.sliceNanos
	n := int64(len(b.slices))
	if !b.started {
		b.started, b.lastSlice = true, cur
	}
	if cur > b.lastSlice {
		gap := cur - b.lastSlice
		if gap >= n {
			clear(b.slices)
		} else {
			for s := b.lastSlice + 1; s <= cur; s++ {
				b.slices[s%n] = 0
			}
		}
		b.lastSlice = cur
	}
	return int(b.lastSlice % n)
}

func (b *RatioBudget) sum() int64 {
	var s int64
	for _, v := range b.slices {
		s += v
	}
	return s
}

// OnRequest deposits Percent of a retry.
func (b *RatioBudget) OnRequest(now time.Time) {
	b.mu.Lock()
	i := b.advance(now)
	b.slices[i] += b.deposit
	b.mu.Unlock()
}

// AcquireRetry withdraws one retry if the window holds one; the class does not matter.
func (b *RatioBudget) AcquireRetry(now time.Time, _ Class) (Spend, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := b.advance(now)
	if b.reserve+b.sum() < b.withdraw {
		return Spend{}, false
	}
	b.slices[i] -= b.withdraw
	return Spend{Cost: 1, Retry: true}, true
}

// OnSuccess does nothing: the ratio budget counts requests, not outcomes.
func (b *RatioBudget) OnSuccess(time.Time, Spend) {}

// Level reports the retries available now and the floor (MinPerSec·TTL) as the capacity.
func (b *RatioBudget) Level(now time.Time) Level {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	return Level{
		Available: float64(max(b.reserve+b.sum(), 0)) / ratioUnit,
		Capacity:  float64(b.reserve) / ratioUnit,
	}
}
