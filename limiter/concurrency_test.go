package limiter

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentAllowNeverOverAdmits runs goroutines on one key, each with its own clock, so
// times reach the bucket out of order. Whatever the interleaving, the bucket admits at most
// burst + rate·T.
func TestConcurrentAllowNeverOverAdmits(t *testing.T) {
	const (
		workers = 8
		steps   = 2000
		step    = time.Millisecond
	)
	l := New(DefaultRules())
	k := Key{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"} // 100 / 20 per s
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for s := range steps {
				// Worker w runs slightly behind or ahead of the others.
				now := at(time.Duration(s)*step + time.Duration(w)*37*time.Microsecond)
				if ok, _ := l.Allow(now, k, 1); ok {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	T := (time.Duration(steps-1)*step + time.Duration(workers-1)*37*time.Microsecond).Seconds()
	limit := 100 + 20*T
	if got := float64(admitted.Load()); got > limit || got < limit-2 {
		t.Errorf("admitted %v, want %v (at most, and no fewer than 2 below)", got, limit)
	}
}

// TestConcurrentReserveSchedulesWithinTheBucket checks every window of the schedule Reserve
// hands out to concurrent callers: the calls due in [a, b] never exceed burst + rate·(b-a).
func TestConcurrentReserveSchedulesWithinTheBucket(t *testing.T) {
	const (
		workers = 6
		calls   = 150
		rate    = 50.0
		burst   = 10
	)
	l := New(oneRule(rate, burst))
	var mu sync.Mutex
	var due []time.Time
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for c := range calls {
				now := at(time.Duration(c*w) * time.Millisecond)
				r, err := l.Reserve(now, keyX("Op"), 1, time.Time{})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				due = append(due, now.Add(r.Delay()))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.SortFunc(due, func(a, b time.Time) int { return a.Compare(b) })
	for j := range due {
		for i := 0; i <= j; i++ {
			n := float64(j - i + 1)
			if allowed := burst + rate*due[j].Sub(due[i]).Seconds(); n > allowed+1e-6 {
				t.Fatalf("%v calls due between %v and %v; the bucket allows %v", n, due[i].Sub(t0), due[j].Sub(t0), allowed)
			}
		}
	}
}

// TestConcurrentSharedAndDualBuckets drives a shared scope (KMS) and a calls+units pair
// (RunInstances) from many goroutines and checks both limits.
func TestConcurrentSharedAndDualBuckets(t *testing.T) {
	l := New(DefaultRules())
	ops := []string{"Encrypt", "Decrypt", "GenerateDataKey", "ReEncrypt"}
	var kmsAdmitted, runCalls, instances atomic.Int64
	var wg sync.WaitGroup
	const steps = 500 // 10ms steps: T = 4.99s
	for w := range 8 {
		wg.Go(func() {
			for s := range steps {
				now := at(time.Duration(s) * 10 * time.Millisecond)
				kms := Key{Region: "sa-east-1", Service: "KMS", Operation: ops[(w+s)%len(ops)]}
				for range 30 {
					if ok, _ := l.Allow(now, kms, 1); ok {
						kmsAdmitted.Add(1)
					}
				}
				run := Key{Region: "us-east-1", Service: "EC2", Operation: "RunInstances"}
				n := 1 + (w*7+s)%40
				if ok, _ := l.Allow(now, run, n); ok {
					runCalls.Add(1)
					instances.Add(int64(n))
				}
			}
		})
	}
	wg.Wait()
	T := 4.99
	if got, max := float64(kmsAdmitted.Load()), 10000+10000*T; got > max {
		t.Errorf("KMS shared quota admitted %v, max %v", got, max)
	}
	if got, max := float64(runCalls.Load()), 5+2*T; got > max {
		t.Errorf("RunInstances calls %v, max %v", got, max)
	}
	if got, max := float64(instances.Load()), 1000+2*T; got > max {
		t.Errorf("instances launched %v, max %v", got, max)
	}
}

// TestConcurrentPartitionsWithEviction creates and evicts partitioned buckets from many
// goroutines while others read stats; the race detector checks the locking, and each
// partition's count is checked against its bucket.
func TestConcurrentPartitionsWithEviction(t *testing.T) {
	rs := Rules{{Name: "p", Service: "X", Rate: 10, Burst: 5, Partition: PartitionPrefix}}
	l := New(rs, WithIdleTTL(time.Second), WithMaxKeys(250))
	const workers, prefixes, rounds = 4, 100, 10
	counts := make([][prefixes]int, workers)
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		var buf []RuleStats
		for {
			select {
			case <-stop:
				return
			default:
			}
			buf = l.AppendRuleStats(buf[:0])
			l.Keys()
			l.Tokens(t0, Key{Service: "X", Operation: "Op", Resource: "w0", Prefix: "1"})
		}
	})
	// Rounds are 10s apart: every bucket is full and idle again. Within a round the workers
	// share one clock, as concurrent callers reading the same real clock would.
	for r := range rounds {
		now := at(time.Duration(r) * 10 * time.Second)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for p := range prefixes {
					k := Key{Service: "X", Operation: "Op", Resource: fmt.Sprint("w", w), Prefix: fmt.Sprint(p)}
					for range 7 {
						if ok, _ := l.Allow(now, k, 1); ok {
							counts[w][p]++
						}
					}
				}
			})
		}
		wg.Wait()
	}
	close(stop)
	readers.Wait()
	// Per round a partition (or the overflow bucket it shares) admits at most 5: over 20
	// rounds at most 100 per partition, and in total no more than 5 per bucket per round.
	total := 0
	for w := range counts {
		for p := range counts[w] {
			if counts[w][p] > 5*rounds {
				t.Fatalf("partition w%d/%d admitted %d, max %d", w, p, counts[w][p], 5*rounds)
			}
			total += counts[w][p]
		}
	}
	if max := 5 * rounds * (workers*prefixes + 1); total > max {
		t.Errorf("total %d > %d", total, max)
	}
	if l.Keys() > 250 {
		t.Errorf("Keys() = %d > MaxKeys", l.Keys())
	}
}

// TestConcurrentFeedbackNeverOverAdmits runs admissions and feedback (throttles, successes,
// Retry-After hints) on one key from many goroutines with clocks out of order: a learned rate
// only ever lowers the rule's, so whatever the interleaving the key admits at most
// burst + rate·T, and the race detector sees every access under the bucket's lock.
func TestConcurrentFeedbackNeverOverAdmits(t *testing.T) {
	const (
		workers = 6
		steps   = 3000
		step    = time.Millisecond
	)
	l := New(DefaultRules())
	k := Key{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"} // 100 / 20 per s
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for s := range steps {
				now := at(time.Duration(s)*step + time.Duration(w)*41*time.Microsecond)
				switch {
				case w%3 == 0:
					if ok, _ := l.Allow(now, k, 1); ok {
						admitted.Add(1)
					}
				case w%3 == 1:
					r, err := l.Reserve(now, k, 1, now) // admitted now or refused
					if err == nil && r.Delay() == 0 {
						admitted.Add(1)
					}
				default:
					l.Feedback(now, k, Feedback{Throttled: s%7 == 0, RetryAfter: time.Duration(s%3) * time.Millisecond})
				}
			}
		})
	}
	wg.Wait()
	T := (time.Duration(steps-1)*step + time.Duration(workers-1)*41*time.Microsecond).Seconds()
	if got, limit := float64(admitted.Load()), 100+20*T; got > limit {
		t.Errorf("admitted %v, more than %v", got, limit)
	}
}
