package simulate

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the process's CPU time so far (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchScenario is an overloaded EC2 API (open loop, 4 × its 20/s refill... scaled up with many
// clients) plus an S3 prefix at 1.3 × its capacity: most attempts are throttled and retried,
// so the engine's whole path (admission, server model, backoff decision) is exercised.
func benchScenario() *Scenario {
	return &Scenario{Name: "bench", Duration: 20 * time.Second, Seed: 1, Runs: 1,
		Groups: []Group{
			{Name: "ec2", Loop: ClosedLoop, Processes: 4, Workers: 64, Think: 10 * time.Millisecond, Timeout: 10 * time.Second,
				Operations: []Operation{{Service: "EC2", Operation: "DescribeInstances"}, {Service: "EC2", Operation: "DescribeVolumes", Weight: 0.5}}},
			{Name: "s3", Loop: OpenLoop, Rate: 7000, Timeout: 10 * time.Second,
				Operations: []Operation{{Service: "S3", Operation: "GetObject", Resource: "b", Prefixes: []string{"hot/"}}}},
		}}
}

// BenchmarkEngineAttempts measures simulated attempts per second of wall time on one core
// (one run at a time; the metric is what to compare, ns/op is one whole 20 s scenario).
func BenchmarkEngineAttempts(b *testing.B) {
	for _, name := range []string{"sdk-standard", "tollgate", "sdk-adaptive", "no-retry"} {
		b.Run(name, func(b *testing.B) {
			c, err := compile(benchScenario())
			if err != nil {
				b.Fatal(err)
			}
			strat, err := NewStrategy(name, StrategyOptions{})
			if err != nil {
				b.Fatal(err)
			}
			var attempts uint64
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := runScenario(context.Background(), c, strat, uint64(i), nil)
				for _, g := range r.groups {
					attempts += g.c.Attempts
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(attempts)/b.Elapsed().Seconds(), "attempts/s")
			// On a shared machine wall time includes waiting for a core: attempts per second of
			// this process's CPU time (user + system, GC included) is the per-core figure.
			if cpu := cpuTime() - cpu0; cpu > 0 {
				b.ReportMetric(float64(attempts)/cpu.Seconds(), "attempts/cpu-s")
			}
			b.ReportMetric(float64(attempts)/float64(b.N), "attempts/op")
		})
	}
}

// BenchmarkEventHeap is the baseline: one push and one pop on a heap of about a thousand
// events, the engine's minimum work per event (an attempt costs three events).
func BenchmarkEventHeap(b *testing.B) {
	var h eventHeap
	for i := 0; i < 1024; i++ {
		h.push(int64(i*7919%1024), evSend, int32(i))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := h.pop()
		h.push(e.at+1024, evSend, e.id)
	}
}
