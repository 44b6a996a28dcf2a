package limiter

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// benchStep is how far the clock moves between calls in the single-key benchmarks: at the
// DescribeInstances rate (20/s) and this step, about one call in 50 is admitted once the burst is
// spent, the same for the baseline and the limiter.
const benchStep = time.Millisecond

var benchStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// BenchmarkXTimeRateAllow is the baseline: a bare golang.org/x/time/rate Limiter of the
// DescribeInstances shape (burst 100, 20/s), AllowN with an explicit time.
func BenchmarkXTimeRateAllow(b *testing.B) {
	lim := rate.NewLimiter(20, 100)
	now := benchStart
	admitted := 0
	for b.Loop() {
		now = now.Add(benchStep)
		if lim.AllowN(now, 1) {
			admitted++
		}
	}
	b.ReportMetric(float64(admitted)/float64(b.N), "admitted/op")
}

// hotKey is the key of the single-key benchmarks: EC2 DescribeInstances in us-east-1 (default
// rules: 100 burst, 20/s).
var hotKey = Key{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}

// learnedLimiter returns a default limiter whose hot key has learned a rate below its rule's, as
// in a fleet sharing the account's bucket: AWS throttled it (a first throttle arms it, one after
// the reaction window cuts it), and its adaptive state is live.
func learnedLimiter(tb testing.TB) *Limiter {
	l := New(DefaultRules())
	now := benchStart
	for i := 0; i < 40; i++ {
		now = now.Add(50 * time.Millisecond)
		l.Allow(now, hotKey, 1)
		if i%4 == 0 {
			l.Throttled(now, hotKey)
		} else {
			l.Succeeded(now, hotKey)
		}
	}
	if rate, _, learned, _ := l.Rate(now, hotKey); !learned || rate >= 20 {
		tb.Fatalf("hot key not learned: rate %v", rate)
	}
	return l
}

// BenchmarkAllowHotKey sends one key whose rate was learned (adaptive, the default limiter)
// through the whole limiter: route lookup, bucket lookup, lock, the bucket at its learned rate
// and scaled burst, counters. x-baseline is its cost over x/time/rate's AllowN, timed in the
// same run (hotKeyRatio).
func BenchmarkAllowHotKey(b *testing.B) {
	l := learnedLimiter(b)
	now := benchStart.Add(time.Hour)
	admitted := 0
	for b.Loop() {
		now = now.Add(benchStep)
		if ok, _ := l.Allow(now, hotKey, 1); ok {
			admitted++
		}
	}
	b.ReportMetric(float64(admitted)/float64(b.N), "admitted/op")
	b.ReportMetric(hotKeyRatio(b, func(l *Limiter, now time.Time) { l.Allow(now, hotKey, 1) },
		func(lim *rate.Limiter, now time.Time) { lim.AllowN(now, 1) }), "x-baseline")
}

// BenchmarkAllowHotKeyStatic is BenchmarkAllowHotKey at the rule's own rate (a key AWS never
// throttled).
func BenchmarkAllowHotKeyStatic(b *testing.B) {
	l := New(DefaultRules())
	now := benchStart
	for b.Loop() {
		now = now.Add(benchStep)
		l.Allow(now, hotKey, 1)
	}
	b.ReportMetric(hotKeyRatio(b, nil, func(lim *rate.Limiter, now time.Time) { lim.AllowN(now, 1) }), "x-baseline")
}

// BenchmarkReserveHotKey reserves on the learned hot key (no deadline: every call is admitted,
// later and later), against x/time/rate's ReserveN.
func BenchmarkReserveHotKey(b *testing.B) {
	l := learnedLimiter(b)
	now := benchStart.Add(time.Hour)
	for b.Loop() {
		now = now.Add(benchStep)
		l.Reserve(now, hotKey, 1, time.Time{})
	}
	b.ReportMetric(hotKeyRatio(b, func(l *Limiter, now time.Time) { l.Reserve(now, hotKey, 1, time.Time{}) },
		func(lim *rate.Limiter, now time.Time) { lim.ReserveN(now, 1) }), "x-baseline")
}

// BenchmarkFeedbackHotKey reports a success on the learned hot key (what every answer costs),
// against x/time/rate's AllowN.
func BenchmarkFeedbackHotKey(b *testing.B) {
	l := learnedLimiter(b)
	now := benchStart.Add(time.Hour)
	for b.Loop() {
		now = now.Add(benchStep)
		l.Succeeded(now, hotKey)
	}
	b.ReportMetric(hotKeyRatio(b, func(l *Limiter, now time.Time) { l.Succeeded(now, hotKey) },
		func(lim *rate.Limiter, now time.Time) { lim.AllowN(now, 1) }), "x-baseline")
}

// hotKeyRatio times call on a limiter whose hot key has learned its rate (nil: Allow on a
// static-rate hot key) and base on a bare x/time/rate Limiter of the same shape, in alternating
// slices of 5,000 calls, and returns the ratio of their fastest slices. Alternating and taking
// minima keeps the ratio meaningful on a shared machine, where the load changes between two
// benchmarks.
func hotKeyRatio(t testing.TB, call func(*Limiter, time.Time), base func(*rate.Limiter, time.Time)) float64 {
	var l *Limiter
	if call == nil {
		l = New(DefaultRules())
		call = func(l *Limiter, now time.Time) { l.Allow(now, hotKey, 1) }
	} else {
		l = learnedLimiter(t)
	}
	lim := rate.NewLimiter(20, 100)
	tl, tb := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
	nl, nb := benchStart.Add(time.Hour), benchStart.Add(time.Hour)
	for range 200 {
		start := time.Now()
		for range 5_000 {
			nb = nb.Add(benchStep)
			base(lim, nb)
		}
		mid := time.Now()
		for range 5_000 {
			nl = nl.Add(benchStep)
			call(l, nl)
		}
		tb = min(tb, mid.Sub(start))
		tl = min(tl, time.Since(mid))
	}
	return float64(tl) / float64(tb)
}

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkAllowManyKeys spreads calls over 1,000,000 distinct S3 prefixes (default rules,
// partitioned per prefix). It reports the memory per live key, and the heap left once the
// buckets are idle and evicted.
func BenchmarkAllowManyKeys(b *testing.B) {
	const n = 1_000_000
	keys := make([]Key, n)
	for i := range keys {
		keys[i] = Key{Region: "us-east-1", Service: "S3", Operation: "GetObject",
			Resource: "bucket-" + strconv.Itoa(i%100), Prefix: "p" + strconv.Itoa(i) + "/"}
	}
	base := heapInUse()
	l := New(DefaultRules(), WithIdleTTL(time.Minute), WithMaxKeys(n))
	now := benchStart
	for i := range keys {
		l.Allow(now, keys[i], 1)
	}
	if l.Keys() != n {
		b.Fatalf("%d live keys, want %d", l.Keys(), n)
	}
	perKey := float64(heapInUse()-base) / n

	i := 0
	for b.Loop() {
		now = now.Add(time.Microsecond)
		l.Allow(now, keys[i], 1)
		if i++; i == n {
			i = 0
		}
	}

	b.StopTimer()
	// Idle past the TTL: a sweep (or, lazily, further calls) evicts every bucket.
	evicted := l.Sweep(now.Add(2 * time.Minute))
	after := heapInUse()
	b.ReportMetric(perKey, "B/live-key")
	b.ReportMetric(float64(max(int64(after)-int64(base), 0)), "heap-B-after-evict")
	b.ReportMetric(float64(l.Keys()), "keys-after-evict")
	if evicted != n {
		b.Errorf("evicted %d of %d", evicted, n)
	}
	runtime.KeepAlive(keys)
	runtime.KeepAlive(l)
}

// BenchmarkMapOfRateLimiters is the memory baseline of BenchmarkAllowManyKeys: the same million
// prefixes in a plain map[string]*rate.Limiter, one limiter per key, each key a copy of its own
// (as the limiter keeps one).
func BenchmarkMapOfRateLimiters(b *testing.B) {
	const n = 1_000_000
	names := make([]string, n)
	for i := range names {
		names[i] = "bucket-" + strconv.Itoa(i%100) + "p" + strconv.Itoa(i) + "/"
	}
	base := heapInUse()
	m := make(map[string]*rate.Limiter)
	for _, k := range names {
		l := rate.NewLimiter(5500, 5500)
		l.AllowN(benchStart, 1)
		m[strings.Clone(k)] = l
	}
	perKey := float64(heapInUse()-base) / n
	i := 0
	now := benchStart
	for b.Loop() {
		now = now.Add(time.Microsecond)
		m[names[i]].AllowN(now, 1)
		if i++; i == n {
			i = 0
		}
	}
	b.ReportMetric(perKey, "B/live-key")
	runtime.KeepAlive(m)
	runtime.KeepAlive(names)
}

// BenchmarkAllowParallel runs Allow from GOMAXPROCS goroutines, each on its own S3 prefixes
// and EC2 actions, to show the limiter's sharding.
func BenchmarkAllowParallel(b *testing.B) {
	const perWorker = 1024
	const workers = 64
	l := New(DefaultRules())
	keys := make([][]Key, workers)
	ops := []string{"DescribeInstances", "DescribeVolumes", "CreateTags", "DescribeImages"}
	for w := range keys {
		keys[w] = make([]Key, perWorker)
		for i := range keys[w] {
			if i%8 == 0 {
				keys[w][i] = Key{Region: "r" + strconv.Itoa(w), Service: "EC2", Operation: ops[i/8%len(ops)]}
			} else {
				keys[w][i] = Key{Region: "us-east-1", Service: "S3", Operation: "PutObject",
					Resource: "bucket", Prefix: "w" + strconv.Itoa(w) + "/" + strconv.Itoa(i)}
			}
			l.Allow(benchStart, keys[w][i], 1)
		}
	}
	var next atomic.Int32
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mine := keys[int(next.Add(1)-1)%workers]
		now := benchStart
		i := 0
		for pb.Next() {
			now = now.Add(time.Microsecond)
			l.Allow(now, mine[i], 1)
			if i++; i == perWorker {
				i = 0
			}
		}
	})
}

// BenchmarkChurn measures eviction by traffic alone, without Sweep and without a MaxKeys cap: a
// new S3 prefix every millisecond for ten minutes, idle TTL one minute. "unique": each prefix is
// called once (a stream of unique keys); "active": besides, three calls a millisecond go to the
// 1,000 newest prefixes, and a prefix goes idle when it leaves them. It reports the evictions per
// new key over the second half of the run (1: every new key replaces an idle one, so the table
// stops growing) and the live keys at the end over the steady-state number (the keys of the last
// TTL, plus the active ones).
func BenchmarkChurn(b *testing.B) {
	const (
		active = 1000
		step   = time.Millisecond
		ttl    = time.Minute
		n      = 600_000
	)
	for _, calls := range []int{0, 3} {
		name := "unique"
		if calls > 0 {
			name = "active"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				l := New(DefaultRules(), WithIdleTTL(ttl), WithMaxKeys(-1))
				rng := rand.New(rand.NewPCG(1, 2))
				keys := make([]Key, 0, n)
				now := benchStart
				var half RuleStats
				for i := range n {
					now = now.Add(step)
					keys = append(keys, s3Key("churn", "p"+strconv.Itoa(i)+"/"))
					l.Allow(now, keys[i], 1)
					for range calls {
						l.Allow(now, keys[max(0, i-rng.IntN(active))], 1)
					}
					if i == n/2 {
						half, _ = l.RuleStats("s3-read")
					}
				}
				end, _ := l.RuleStats("s3-read")
				b.ReportMetric(float64(end.Evicted-half.Evicted)/float64(n/2), "evictions/new-key")
				b.ReportMetric(float64(l.Keys())/float64(ttl/step), "live/steady")
			}
		})
	}
}

// BenchmarkWaitLate runs 2,000 goroutines calling Wait with a 2 ms deadline for two seconds of
// real time on four keys (rate 50,000/s, burst 10): far more than the CPUs can serve, so callers
// are held up. It reports the Waits admitted, and the share of them whose callers saw the
// deadline already passed when Wait returned (late/admitted) and by how much at most.
func BenchmarkWaitLate(b *testing.B) {
	for b.Loop() {
		l := New(Rules{{Name: "r", Service: "X", Rate: 50_000, Burst: 10}}, WithAdaptive(false))
		var admitted, late, worst atomic.Int64
		stop := time.Now().Add(2 * time.Second)
		var wg sync.WaitGroup
		for g := range 2000 {
			wg.Go(func() {
				k := Key{Service: "X", Operation: "Op" + strconv.Itoa(g%4)}
				for time.Now().Before(stop) {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
					deadline, _ := ctx.Deadline()
					err := l.Wait(ctx, k, 1)
					after := time.Since(deadline)
					cancel()
					if err != nil {
						continue
					}
					admitted.Add(1)
					if after > 0 {
						late.Add(1)
						for w := worst.Load(); int64(after) > w && !worst.CompareAndSwap(w, int64(after)); w = worst.Load() {
						}
					}
				}
			})
		}
		wg.Wait()
		b.ReportMetric(float64(admitted.Load()), "admitted")
		b.ReportMetric(float64(late.Load())/float64(max(admitted.Load(), 1)), "late/admitted")
		b.ReportMetric(time.Duration(worst.Load()).Seconds()*1000, "worst-late-ms")
	}
}
