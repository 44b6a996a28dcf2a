package simulate

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"time"
	"unsafe"

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

// brookerClientBytes is one client's state in a Brooker run: what it read, its write's answer,
// its backoff state and its event, with the slack of a heap that doubles.
const brookerClientBytes = 8 + 1 + int64(unsafe.Sizeof(backoff.Call{})) + 2*int64(unsafe.Sizeof(simEvent{}))

// Brooker runs the experiment, one point per (client count, jitter kind), in parallel. The
// result depends only on cfg. Before it starts, it refuses with a *LimitError a configuration
// whose runs executing at once would hold more than opts.Limits.MaxMemory; it stops with ctx's
// error soon after ctx is done, between events of a run as well as between runs.
func Brooker(ctx context.Context, cfg BrookerConfig, opts Options) (*BrookerResult, error) {
	cfg.defaults()
	most := 0
	for _, n := range cfg.Clients {
		if n <= 0 || n > math.MaxInt32 {
			return nil, fmt.Errorf("simulate: brooker: client counts must be in [1, %d], not %d", math.MaxInt32, n)
		}
		most = max(most, n)
	}
	points := len(cfg.Clients) * len(cfg.Jitters)
	par := opts.Parallelism
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	par = max(min(par, points), 1)
	if need := float64(most) * float64(brookerClientBytes) * float64(par); need > float64(opts.Limits.memory()) {
		return nil, &LimitError{What: "brooker", Resource: "memory", Need: need, Limit: opts.Limits.memory(),
			Detail: fmt.Sprintf("%d clients × %d bytes × %d points at once", most, brookerClientBytes, par)}
	}
	res := &BrookerResult{Runs: cfg.Runs, Seed: cfg.Seed, Points: make([]BrookerPoint, points)}
	err := runParallel(ctx, len(res.Points), opts, func(i int) {
		n, j := cfg.Clients[i/len(cfg.Jitters)], cfg.Jitters[i%len(cfg.Jitters)]
		var calls, total int64
		for r := 0; r < cfg.Runs && ctx.Err() == nil; r++ {
			c, t := brookerRun(ctx, &cfg, n, j, newRand(cfg.Seed, uint64(n)<<8|uint64(j), uint64(r)))
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

// brookerRun simulates one run and returns the writes made and the completion time (ns). It
// returns early (with meaningless numbers) when ctx is done.
func brookerRun(ctx context.Context, cfg *BrookerConfig, n int, j backoff.Jitter, rng *rand.Rand) (uint64, int64) {
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
		if c&0xfff == 0 && ctx.Err() != nil {
			return 0, 0
		}
		calls[c] = policy.Start(epoch, time.Time{})
		h.push(delay(), occReadAtServer, int32(c))
	}
	for k := 0; h.len() > 0; k++ {
		if k&0xfff == 0 && ctx.Err() != nil { // every few milliseconds
			return 0, 0
		}
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
			h.push(vadd(vadd(now, time.Duration(delay())), d.Delay), occReadAtServer, c)
		}
	}
	return row.Writes(), lastEnd
}
