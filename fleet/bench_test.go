package fleet

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/internal/redistest"
	"github.com/tollgate/tollgate/limiter"
)

// Benchmarks against a local redis-server, 8 goroutines (RunParallel with parallelism
// 8/GOMAXPROCS), each decision one call of one token on one shared bucket. Every benchmark
// reports decisions/s and the Redis commands per decision, counted by a go-redis hook:
//
//	go test -run '^$' -bench . -benchtime 2s ./fleet/
//
// The bucket is wide (1e8/s, burst 1e6) so that decisions are admitted and the cost measured
// is the decision's, not a refusal's.

// cmdCounter counts the commands a go-redis client sends (round trips, pipelines aside).
type cmdCounter struct{ n atomic.Uint64 }

func (c *cmdCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *cmdCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *cmdCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

var lastRefusal atomic.Value

func benchParallel(b *testing.B, decide func(i int) bool) {
	b.Helper()
	procs := max(8/runtime.GOMAXPROCS(0), 1)
	b.SetParallelism(procs)
	var next atomic.Int64
	var refused atomic.Int64
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1) - 1)
		for pb.Next() {
			if !decide(i) {
				refused.Add(1)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "decisions/s")
	if r := refused.Load(); r > int64(b.N)/100 {
		b.Fatalf("%d of %d decisions refused: the benchmark measures refusals (%v)", r, b.N, lastRefusal.Load())
	}
}

// BenchmarkLeased: 8 goroutines share one fleet Client (one process) on one bucket: decisions
// are local, leases renewed in the background.
func BenchmarkLeased(b *testing.B) {
	srv := redistest.Start(b)
	cnt := &cmdCounter{}
	rdb := srv.Client()
	rdb.AddHook(cnt)
	c := newClient(b, rdb, "bench", Options{Timeout: time.Second})
	spec := Spec{Rate: 1e8, Burst: 1e6}
	c.Reserve(time.Now(), ec2Bucket, spec, 0, 0) // the first lease
	before := cnt.n.Load()
	benchParallel(b, func(int) bool { return c.Allow(time.Now(), ec2Bucket, spec, 1).OK })
	b.ReportMetric(float64(cnt.n.Load()-before)/float64(b.N), "rt/decision")
}

// BenchmarkLeased8Clients: each of the 8 goroutines has its own fleet Client and go-redis
// client, as 8 processes sharing the bucket would.
func BenchmarkLeased8Clients(b *testing.B) {
	srv := redistest.Start(b)
	cnt := &cmdCounter{}
	spec := Spec{Rate: 1e8, Burst: 1e6}
	clients := make([]*Client, 8)
	for i := range clients {
		rdb := srv.Client()
		rdb.AddHook(cnt)
		clients[i] = newClient(b, rdb, fmt.Sprint("bench-", i), Options{Timeout: time.Second})
	}
	// Warm up until every client holds a lease (the first holder's first lease is short).
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for leased := 0; leased < len(clients); {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d clients hold a lease after 10 s", leased, len(clients))
		}
		<-tick.C
		leased = 0
		for _, c := range clients {
			c.Allow(time.Now(), ec2Bucket, spec, 1)
			if c.Mode(ec2Bucket) == Leased {
				leased++
			}
		}
	}
	before := cnt.n.Load()
	benchParallel(b, func(i int) bool {
		d := clients[i%len(clients)].Allow(time.Now(), ec2Bucket, spec, 1)
		if !d.OK {
			lastRefusal.Store(fmt.Sprintf("%+v", d))
		}
		return d.OK
	})
	b.ReportMetric(float64(cnt.n.Load()-before)/float64(b.N), "rt/decision")
}

// BenchmarkLeaseScriptPerDecision: without leases — the lease script run for every decision
// (one round trip each), what tollgate would cost if it asked Redis every time.
func BenchmarkLeaseScriptPerDecision(b *testing.B) {
	srv := redistest.Start(b)
	cnt := &cmdCounter{}
	rdb := srv.Client()
	rdb.AddHook(cnt)
	k := keys(DefaultPrefix, ec2Bucket)
	var rid atomic.Uint64
	before := cnt.n.Load()
	benchParallel(b, func(i int) bool {
		q := Request{Client: fmt.Sprint("p", i), ReqID: rid.Add(1), Demand: 1, Level: 0,
			Rate: 1e8, Burst: 1e6, MinBurst: 1, TTL: 2e6, Release: true}
		_, err := runScript(context.Background(), redisConn{rdb}, k, &q, 0)
		return err == nil
	})
	b.ReportMetric(float64(cnt.n.Load()-before)/float64(b.N), "rt/decision")
}

// BenchmarkRedisRateAllow: go-redis/redis_rate's GCRA Allow, one round trip per decision.
func BenchmarkRedisRateAllow(b *testing.B) {
	srv := redistest.Start(b)
	cnt := &cmdCounter{}
	rdb := srv.Client()
	rdb.AddHook(cnt)
	lim := redis_rate.NewLimiter(rdb)
	limit := redis_rate.Limit{Rate: 1e8, Burst: 1e6, Period: time.Second}
	ctx := context.Background()
	before := cnt.n.Load()
	benchParallel(b, func(int) bool {
		r, err := lim.Allow(ctx, "ec2-describe", limit)
		return err == nil && r.Allowed > 0
	})
	b.ReportMetric(float64(cnt.n.Load()-before)/float64(b.N), "rt/decision")
}

// BenchmarkLimiterOverStore: the limiter's own API (Allow) deciding on one process's lease, 8
// goroutines: what the middleware pays per attempt for a bucket shared through Redis. Compare
// with BenchmarkLimiterLocal, the same limiter keeping the bucket itself.
func BenchmarkLimiterOverStore(b *testing.B) {
	srv := redistest.Start(b)
	cnt := &cmdCounter{}
	rdb := srv.Client()
	rdb.AddHook(cnt)
	c := newClient(b, rdb, "bench", Options{Timeout: time.Second})
	lim := limiter.New(wideRule, limiter.WithStore(c.Store(StoreOptions{})))
	lim.Allow(time.Now(), wideKey, 0) // the first lease
	before := cnt.n.Load()
	benchParallel(b, func(int) bool { ok, _ := lim.Allow(time.Now(), wideKey, 0); return ok })
	b.ReportMetric(float64(cnt.n.Load()-before)/float64(b.N), "rt/decision")
}

// BenchmarkLimiterLocal is BenchmarkLimiterOverStore without the store: the baseline.
func BenchmarkLimiterLocal(b *testing.B) {
	lim := limiter.New(wideRule)
	benchParallel(b, func(int) bool { ok, _ := lim.Allow(time.Now(), wideKey, 0); return ok })
}

var (
	wideRule = limiter.Rules{{Name: "wide", Service: "EC2", Operation: "*", Rate: 1e8, Burst: 1e6, NonAdaptive: true}}
	wideKey  = limiter.Key{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}
)
