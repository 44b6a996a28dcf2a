package simulate

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/simulate/server"
)

// BrookerConfig configures the reproduction of Marc Brooker's "Exponential Backoff And
// Jitter" (AWS Architecture Blog, 2015): Clients clients each need one successful write to a
// single row under optimistic concurrency control (server.OCCRow); every network hop takes
// |N(NetMean, NetSD)|; a client whose write conflicts backs off with the backoff package's
// Policy (base Base, cap Cap, no attempt limit) and tries again (read, then write).
type BrookerConfig struct {
	Clients []int            // client counts to simulate (default 10, 20, ..., 190)
	Runs    int              // runs per point, averaged (default 100)
	Seed    uint64           // default 1
	Jitters []backoff.Jitter // default none, equal, full, decorrelated
	Base    time.Duration    // default 5 ms
	Cap     time.Duration    // default 2 s
	NetMean time.Duration    // default 10 ms
	NetSD   time.Duration    // default 2 ms
}

// BrookerPoint is the mean over runs for one client count and one jitter kind.
type BrookerPoint struct {
	Clients int    `json:"clients"`
	Jitter  string `json:"jitter"`
	// Calls is the mean number of writes (successful or not) per run: the work done.
	Calls float64 `json:"calls"`
	// CompletionMs is the mean time until the last client's write succeeded.
	CompletionMs float64 `json:"completion_ms"`
}

// BrookerResult holds every point, by client count then jitter kind in the configured order.
type BrookerResult struct {
	Runs   int            `json:"runs"`
	Seed   uint64         `json:"seed"`
	Points []BrookerPoint `json:"points"`
}

func (c *BrookerConfig) defaults() {
	if len(c.Clients) == 0 {
		for n := 10; n <= 190; n += 10 {
			c.Clients = append(c.Clients, n)
		}
	}
	if c.Runs <= 0 {
		c.Runs = 100
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if len(c.Jitters) == 0 {
		c.Jitters = []backoff.Jitter{backoff.NoJitter, backoff.EqualJitter, backoff.FullJitter, backoff.DecorrelatedJitter}
	}
	if c.Base <= 0 {
		c.Base = 5 * time.Millisecond
	}
	if c.Cap <= 0 {
		c.Cap = 2 * time.Second
	}
	if c.NetMean <= 0 {
		c.NetMean = 10 * time.Millisecond
	}
	if c.NetSD < 0 {
		c.NetSD = 0
	} else if c.NetSD == 0 {
		c.NetSD = 2 * time.Millisecond
	}
}

// Brooker runs the experiment, one point per (client count, jitter kind), in parallel. The
// result depends only on cfg.
func Brooker(ctx context.Context, cfg BrookerConfig, opts Options) (*BrookerResult, error) {
	cfg.defaults()
	res := &BrookerResult{Runs: cfg.Runs, Seed: cfg.Seed, Points: make([]BrookerPoint, len(cfg.Clients)*len(cfg.Jitters))}
	err := runParallel(ctx, len(res.Points), opts, func(i int) {
		n, j := cfg.Clients[i/len(cfg.Jitters)], cfg.Jitters[i%len(cfg.Jitters)]
		var calls, total int64
		for r := 0; r < cfg.Runs; r++ {
			c, t := brookerRun(&cfg, n, j, newRand(cfg.Seed, uint64(n)<<8|uint64(j), uint64(r)))
			calls += int64(c)
			total += t
		}
		res.Points[i] = BrookerPoint{Clients: n, Jitter: j.String(),
			Calls:        round(float64(calls)/float64(cfg.Runs), 2),
			CompletionMs: round(float64(total)/float64(cfg.Runs)/1e6, 2)}
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Events of the OCC model: the id is the client.
const (
	occReadAtServer eventKind = iota + 1
	occReadAnswer
	occWriteAtServer
	occWriteAnswer
)

// brookerRun simulates one run and returns the writes made and the completion time (ns).
func brookerRun(cfg *BrookerConfig, n int, j backoff.Jitter, rng *rand.Rand) (uint64, int64) {
	policy := &backoff.Policy{
		MaxAttempts: -1,
		Backoff:     backoff.Backoff{Jitter: j, ThrottleBase: cfg.Base, TransientBase: cfg.Base, Cap: cfg.Cap},
	}
	mean, sd := float64(cfg.NetMean), float64(cfg.NetSD)
	delay := func() int64 { return int64(math.Abs(rng.NormFloat64()*sd + mean)) }
	var (
		row     server.OCCRow
		h       eventHeap
		seen    = make([]uint64, n) // version each client read
		ok      = make([]bool, n)   // its write's answer
		calls   = make([]backoff.Call, n)
		now     int64
		lastEnd int64
	)
	epoch := Epoch
	for c := 0; c < n; c++ {
		calls[c] = policy.Start(epoch, time.Time{})
		h.push(delay(), occReadAtServer, int32(c))
	}
	for h.len() > 0 {
		ev := h.pop()
		now = ev.at
		c := ev.id
		switch ev.kind {
		case occReadAtServer:
			seen[c] = row.Read()
			h.push(now+delay(), occReadAnswer, c)
		case occReadAnswer:
			h.push(now+delay(), occWriteAtServer, c)
		case occWriteAtServer:
			ok[c] = row.Write(seen[c])
			h.push(now+delay(), occWriteAnswer, c)
		case occWriteAnswer:
			t := epoch.Add(time.Duration(now))
			if ok[c] {
				policy.Succeeded(t, &calls[c])
				lastEnd = now
				continue
			}
			d := policy.FailedAs(t, &calls[c], backoff.Transient, backoff.Hints{}, rng)
			h.push(now+delay()+int64(d.Delay), occReadAtServer, c)
		}
	}
	return row.Writes(), lastEnd
}
