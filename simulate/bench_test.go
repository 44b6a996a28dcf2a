package simulate

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/limiter"
)

// cpuTime returns the process's CPU time so far (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchEC2 is a token-bucket server (EC2-style: one bucket per operation and Region, AWS's
// model with raised quotas: DescribeInstances 2,000/s with a burst of 1,000, DescribeVolumes
// 1,000/s and 500) overloaded by two client groups for 20 s: a fleet of 8 SDK clients making
// 4,000 calls/s between them (open loop, Poisson arrivals) and a controller of 4 processes with
// 64 workers each (closed loop, 10 ms think time), both calling DescribeInstances and, half as
// often, DescribeVolumes, with a 10 s deadline per call. About half the attempts are throttled;
// the retry strategies retry them through backoff.Policy (full jitter, 1 s throttle base) as
// long as each client's retry quota lets them: about one attempt in seven is a retry, and
// tens of thousands of retries are refused by a drained quota. Every attempt goes through
// admission, two network hops, the server model (limiter.Allow on its operation's bucket) and
// the client's decision (classification, jitter draw, quota accounting).
func benchEC2() *Scenario {
	ops := []Operation{{Service: "EC2", Operation: "DescribeInstances"}, {Service: "EC2", Operation: "DescribeVolumes", Weight: 0.5}}
	return &Scenario{Name: "bench-ec2", Duration: 20 * time.Second, Seed: 1, Runs: 1,
		Server: ServerSpec{Rules: limiter.Rules{
			{Name: "ec2-describe-instances", Service: "EC2", Operation: "DescribeInstances", Rate: 2000, Burst: 1000, Source: "benchmark: a raised quota"},
			{Name: "ec2-describe-volumes", Service: "EC2", Operation: "DescribeVolumes", Rate: 1000, Burst: 500, Source: "benchmark: a raised quota"},
		}},
		Groups: []Group{
			{Name: "fleet", Loop: OpenLoop, Processes: 8, Rate: 4000, Timeout: 10 * time.Second, Operations: ops},
			{Name: "controller", Loop: ClosedLoop, Processes: 4, Workers: 64, Think: 10 * time.Millisecond, Timeout: 10 * time.Second, Operations: ops},
		}}
}

// benchS3 is the S3 partition model under an open loop: 7,000 GET/s on one prefix of one
// bucket, 1.3 times the 5,500/s its parent partition serves, for 20 s (AWS's default quotas).
// The partition model (Partitions.Admit: overload streak, hot-prefix summary, split
// scheduling) and the partition's bucket decide every attempt; a third are throttled and
// retried as for benchEC2 (about one attempt in five is a retry).
func benchS3() *Scenario {
	return &Scenario{Name: "bench-s3", Duration: 20 * time.Second, Seed: 1, Runs: 1,
		Groups: []Group{
			{Name: "s3", Loop: OpenLoop, Rate: 7000, Timeout: 10 * time.Second,
				Operations: []Operation{{Service: "S3", Operation: "GetObject", Resource: "b", Prefixes: []string{"hot/"}}}},
		}}
}

// benchMixed is the engine benchmark's original scenario, kept for comparison: an EC2
// controller (4 processes of 64 workers, 10 ms think time) against AWS's default
// DescribeInstances and DescribeVolumes buckets (100 tokens, 20/s), where nearly every attempt
// is throttled and the retry quotas stay drained, plus benchS3's group.
func benchMixed() *Scenario {
	return &Scenario{Name: "bench-mixed", Duration: 20 * time.Second, Seed: 1, Runs: 1,
		Groups: []Group{
			{Name: "ec2", Loop: ClosedLoop, Processes: 4, Workers: 64, Think: 10 * time.Millisecond, Timeout: 10 * time.Second,
				Operations: []Operation{{Service: "EC2", Operation: "DescribeInstances"}, {Service: "EC2", Operation: "DescribeVolumes", Weight: 0.5}}},
			benchS3().Groups[0],
		}}
}

// BenchmarkEngineAttempts measures simulated attempts per second on one core: one 20 s scenario
// run at a time, single-threaded, as Simulate runs each (strategy, seed). Sub-benchmarks are
// scenario/strategy:
//
//	ec2    benchEC2: token buckets (EC2-style), open and closed loops, half the attempts throttled
//	s3     benchS3: the S3 partition model, open loop at 1.3 × a partition's capacity
//	mixed  the original scenario: an EC2 controller on AWS's default buckets, and benchS3
//
// The metrics to compare are attempts/s (attempts over wall time) and attempts/cpu-s
// (attempts over this process's CPU time, user + system, GC included: the per-core figure on
// a shared machine, where wall time includes waiting for a core); ns/op is one whole scenario.
// throttled/attempt and attempts/call (above 1: retries) say what the attempts were. Run with
// -cpu 1:
//
//	go test -run NONE -bench EngineAttempts -cpu 1 -count 5 ./simulate/
func BenchmarkEngineAttempts(b *testing.B) {
	scenarios := []struct {
		name string
		s    func() *Scenario
	}{{"ec2", benchEC2}, {"s3", benchS3}, {"mixed", benchMixed}}
	for _, sc := range scenarios {
		for _, name := range []string{"sdk-standard", "tollgate", "tollgate-oracle", "sdk-adaptive", "no-retry"} {
			b.Run(sc.name+"/"+name, func(b *testing.B) {
				c, err := compile(sc.s())
				if err != nil {
					b.Fatal(err)
				}
				strat, err := NewStrategy(name, StrategyOptions{})
				if err != nil {
					b.Fatal(err)
				}
				var total Counters
				b.ReportAllocs()
				cpu0 := cpuTime()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					r := runScenario(context.Background(), c, strat, uint64(i), nil, newGuard("bench", Limits{}, 1))
					for _, g := range r.groups {
						c, _ := g.total()
						total.add(&c)
					}
				}
				b.StopTimer()
				attempts := float64(total.Attempts)
				b.ReportMetric(attempts/b.Elapsed().Seconds(), "attempts/s")
				if cpu := cpuTime() - cpu0; cpu > 0 {
					b.ReportMetric(attempts/cpu.Seconds(), "attempts/cpu-s")
				}
				b.ReportMetric(attempts/float64(b.N), "attempts/op")
				// What the attempts were: how many were throttled, and how many a call made
				// (above 1: retries).
				b.ReportMetric(float64(total.Throttled)/attempts, "throttled/attempt")
				b.ReportMetric(attempts/float64(total.Requests), "attempts/call")
			})
		}
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
