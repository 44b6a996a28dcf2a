package limiter

import (
	"fmt"
	"testing"
	"time"
)

func s3Key(bucket, prefix string) Key {
	return Key{Region: "us-east-1", Service: "S3", Operation: "GetObject", Resource: bucket, Prefix: prefix}
}

// slots returns the total table size of the limiter's shards.
func (l *Limiter) slots() int {
	n := 0
	for i := range l.shards {
		l.shards[i].mu.Lock()
		n += len(l.shards[i].slots)
		l.shards[i].mu.Unlock()
	}
	return n
}

func TestEvictionFreesIdleKeys(t *testing.T) {
	const idle = 10_000
	l := New(DefaultRules(), WithIdleTTL(time.Minute))
	for i := range idle {
		k := s3Key("logs", fmt.Sprintf("p%05d/", i))
		for range 10 {
			l.Allow(t0, k, 1)
		}
	}
	// S3 rules are partitioned: one bucket per prefix, no unpartitioned one.
	if got := l.Keys(); got != idle {
		t.Fatalf("Keys() = %d, want %d", got, idle)
	}
	grown := l.slots()
	// Within the idle TTL nothing may go, however hard we sweep.
	if n := l.Sweep(at(59 * time.Second)); n != 0 {
		t.Fatalf("Sweep before the TTL evicted %d", n)
	}
	// After the TTL, ordinary calls on a few active keys evict the idle ones lazily: each call
	// sweeps a couple of slots of its shard.
	later := at(2 * time.Minute)
	active := make([]Key, 256)
	for i := range active {
		active[i] = s3Key("hot", fmt.Sprintf("a%03d/", i))
	}
	for round := 0; round < 1000 && l.Keys() > len(active); round++ {
		for _, k := range active {
			l.Allow(later, k, 1)
		}
	}
	if got := l.Keys(); got != len(active) {
		t.Fatalf("Keys() = %d after lazy eviction, want the %d active keys", got, len(active))
	}
	st, _ := l.RuleStats("s3-read")
	if st.Evicted != idle || st.Keys != len(active) {
		t.Errorf("s3-read stats: evicted %d keys %d, want %d and %d", st.Evicted, st.Keys, idle, len(active))
	}
	if shrunk := l.slots(); shrunk*8 > grown {
		t.Errorf("tables did not shrink: %d slots, %d at the peak", shrunk, grown)
	}
	// An evicted key comes back as a full bucket: dropping it was unobservable.
	k := s3Key("logs", "p00042/")
	if avail, burst, _ := l.Tokens(later, k); avail != float64(burst) || burst != 5500 {
		t.Errorf("evicted key: %v of %d tokens, want full", avail, burst)
	}
	if n := drain(t, l, later, k, 1); n != 5500 {
		t.Errorf("evicted key admitted %d, want a full 5500", n)
	}
}

func TestEvictionWaitsForAFullBucket(t *testing.T) {
	rs := Rules{{Name: "slow", Service: "X", Rate: 0.001, Burst: 10, Partition: PartitionResource}}
	l := New(rs, WithIdleTTL(time.Second))
	k := Key{Service: "X", Operation: "Op", Resource: "r"}
	drain(t, l, t0, k, 1)
	// Idle for an hour but only 3.6 tokens back: evicting it would hand out 6.4 free tokens.
	if n := l.Sweep(at(time.Hour)); n != 0 {
		t.Fatalf("evicted a bucket that was not full (%d)", n)
	}
	if n := l.Sweep(at(3 * time.Hour)); n != 1 {
		t.Fatalf("Sweep after refill evicted %d, want 1", n)
	}
	if l.Keys() != 0 {
		t.Errorf("Keys() = %d", l.Keys())
	}
}

func TestMaxKeysOverflow(t *testing.T) {
	rs := Rules{{Name: "p", Service: "X", Rate: 1, Burst: 2, Partition: PartitionResource}}
	l := New(rs, WithMaxKeys(3), WithIdleTTL(time.Minute))
	key := func(r string) Key { return Key{Service: "X", Operation: "Op", Resource: r} }
	admitted := 0
	for _, r := range []string{"a", "b", "c"} {
		admitted += drain(t, l, t0, key(r), 1)
	}
	if admitted != 6 || l.Keys() != 3 {
		t.Fatalf("a, b, c admitted %d with %d keys, want 6 with 3", admitted, l.Keys())
	}
	// a, b, c are empty (not evictable: their debt would be forgotten). New keys find no room
	// and go to the rule's overflow lanes: a key's lane is picked by its hash, and a lane is
	// one bucket of the rule's shape, shared by the keys hashed to it.
	perLane := map[*pinnedBucket]int{}
	starved := 0
	for i := range 300 {
		k := key(fmt.Sprintf("new-%d", i))
		n := drain(t, l, t0, k, 1)
		if n > 2 {
			t.Fatalf("overflowed key %v admitted %d, more than its own burst", k, n)
		}
		if n == 0 {
			starved++
		}
		_, _, h := partitionOf(l.route("X", "Op", "").calls, &k)
		perLane[l.crules[0].overflow.peek(h)] += n
	}
	if l.Keys() != 3 {
		t.Errorf("Keys() = %d, want MaxKeys 3", l.Keys())
	}
	for lane, n := range perLane {
		if n > 2 {
			t.Errorf("lane %p admitted %d, more than one bucket's burst", lane, n)
		}
	}
	// 300 keys in 64 lanes: each lane serves its first keys; a single shared bucket would have
	// admitted 2 calls in all and starved 298 keys.
	if got := 300 - starved; got < len(perLane) || len(perLane) < overflowLaneCount*9/10 {
		t.Errorf("%d of 300 overflowed keys admitted anything, in %d lanes; want at least one per lane", got, len(perLane))
	}
	st, _ := l.RuleStats("p")
	if st.Overflowed == 0 {
		t.Error("overflow not counted")
	}
	// Once a, b, c are idle and full, new keys evict them and get buckets of their own.
	later := at(2 * time.Minute)
	if n := drain(t, l, later, key("g"), 1); n != 2 {
		t.Errorf("new key after the TTL admitted %d, want its own 2", n)
	}
	if l.Keys() > 3 {
		t.Errorf("Keys() = %d exceeds MaxKeys", l.Keys())
	}
}

// When MaxKeys is reached, a full bucket that learned nothing is evicted at once, idle or not:
// a key seen once (a unique S3 prefix) never pushes the next one into the overflow.
func TestMaxKeysEvictsFullBucketsUnderPressure(t *testing.T) {
	l := New(DefaultRules(), WithMaxKeys(100))
	now := t0
	for i := range 10_000 {
		now = now.Add(time.Millisecond) // S3 refills a GET token in 0.18 ms
		if ok, _ := l.Allow(now, s3Key("logs", fmt.Sprintf("u%05d/", i)), 1); !ok {
			t.Fatalf("unique key %d refused", i)
		}
	}
	st, _ := l.RuleStats("s3-read")
	if st.Overflowed != 0 || l.Keys() > 100 {
		t.Errorf("overflowed %d, %d keys; want none overflowed and at most 100 keys", st.Overflowed, l.Keys())
	}
}

// Sweep evicts every idle bucket in one call, however many removals shrink the tables while it
// sweeps them, wherever the per-call sweeps left their cursors.
func TestSweepEvictsEveryIdleBucket(t *testing.T) {
	for _, n := range []int{1, 1000, 100_000} {
		l := New(DefaultRules(), WithIdleTTL(time.Minute))
		for i := range n {
			l.Allow(t0, s3Key("b"+fmt.Sprint(i%7), fmt.Sprintf("p%d/", i)), 1)
		}
		if got := l.Sweep(at(2 * time.Minute)); got != n || l.Keys() != 0 {
			t.Errorf("%d idle buckets: Sweep evicted %d, %d left", n, got, l.Keys())
		}
	}
}

// A stream of unique prefixes at 500,000 calls a second with MaxKeys 1,000 and a 10 ms deadline
// per call: every call gets a bucket of its own (full buckets that learned nothing make room at
// once) and none is refused. With one shared overflow bucket, 92% were refused.
func TestMaxKeysDoesNotStarveNewKeys(t *testing.T) {
	l := New(DefaultRules(), WithMaxKeys(1000))
	now := t0
	for i := range 100_000 {
		now = now.Add(2 * time.Microsecond)
		if _, err := l.Reserve(now, s3Key("logs", fmt.Sprintf("u%06d/", i)), 1, now.Add(10*time.Millisecond)); err != nil {
			t.Fatalf("call %d refused: %v", i, err)
		}
	}
	if l.Keys() > 1000 {
		t.Errorf("%d keys, more than MaxKeys", l.Keys())
	}
}
