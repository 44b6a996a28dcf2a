package limiter

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// memStore is the simplest Store: one token bucket per SharedBucket identity, in memory, shared
// by every limiter built with it — as two processes would share a bucket in Redis, without
// leases. It is what the tests of the hook need: the limiter's side of the contract (package
// fleet tests its Redis store through the same API). asked records the rules it was asked about.
type memStore struct {
	mu      sync.Mutex
	buckets map[SharedBucket]*memBucket
	asked   []string
	again   int // answer Again to this many first asks
	fed     int
}

type memBucket struct {
	level float64
	t     time.Time
}

func (s *memStore) Shares(r Rule) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, r.DisplayName())
	return true
}

func (s *memStore) get(now time.Time, b *SharedBucket) *memBucket {
	if s.buckets == nil {
		s.buckets = map[SharedBucket]*memBucket{}
	}
	m := s.buckets[*b]
	if m == nil {
		m = &memBucket{level: b.Burst, t: now}
		s.buckets[*b] = m
	}
	if now.After(m.t) {
		m.level = min(b.Burst, m.level+now.Sub(m.t).Seconds()*b.Rate)
		m.t = now
	}
	return m
}

func (s *memStore) Reserve(now time.Time, b *SharedBucket, n float64, maxWait time.Duration, again, queued bool) StoreDecision {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !again && s.again > 0 {
		s.again--
		return StoreDecision{Again: true, Delay: 10 * time.Millisecond}
	}
	m := s.get(now, b)
	if n > b.Burst {
		return StoreDecision{Reason: RefusedExceedsBurst}
	}
	wait := time.Duration(max(n-m.level, 0) / b.Rate * 1e9)
	if maxWait >= 0 && wait > maxWait {
		return StoreDecision{Reason: RefusedMaxWait, Wait: wait}
	}
	m.level -= n
	return StoreDecision{OK: true, Delay: wait}
}

func (s *memStore) Cancel(now time.Time, b *SharedBucket, n float64, queued bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.get(now, b)
	m.level = min(m.level+n, b.Burst)
}

func (s *memStore) Feedback(now time.Time, b *SharedBucket, f Feedback) StoreChange {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fed++
	if f.Throttled {
		return StoreChange{Kind: RateCut, From: b.Rate, To: b.Rate / 2, Burst: b.Burst / 2}
	}
	return StoreChange{}
}

func (s *memStore) State(now time.Time, b *SharedBucket) StoreState {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.get(now, b)
	return StoreState{Rate: b.Rate, Burst: b.Burst, Level: m.level, Local: b.Burst}
}

// TestStoreSharesBucketsBetweenLimiters: two limiters with one store spend one bucket of an
// unpartitioned rule together; partitioned rules and units rules stay each limiter's own.
func TestStoreSharesBucketsBetweenLimiters(t *testing.T) {
	st := &memStore{}
	a := New(DefaultRules(), WithStore(st))
	b := New(DefaultRules(), WithStore(st))
	ec2 := Key{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}
	admitted := 0
	for range 100 {
		for _, l := range []*Limiter{a, b} {
			if ok, rule := l.Allow(t0, ec2, 0); ok {
				admitted++
				if rule != "ec2-non-mutating" {
					t.Fatalf("rule %q", rule)
				}
			}
		}
	}
	if admitted != 100 {
		t.Errorf("two limiters admitted %d calls from one 100-token bucket", admitted)
	}
	sa, _ := a.RuleStats("ec2-non-mutating")
	sb, _ := b.RuleStats("ec2-non-mutating")
	if sa.Admitted+sb.Admitted != 100 || sa.Refused+sb.Refused != 100 {
		t.Errorf("counters %+v %+v", sa, sb)
	}
	// S3 buckets are partitioned: the store is never asked about them.
	s3 := Key{Region: "us-east-1", Service: "S3", Operation: "GetObject", Resource: "bkt", Prefix: "p"}
	for range 10 {
		a.Allow(t0, s3, 0)
	}
	for _, r := range st.asked {
		if r == "s3-read" {
			t.Errorf("the store was asked about a partitioned rule")
		}
	}
	// Reserve waits on the shared bucket: a's next call waits for a token b's refill gives.
	r, err := a.Reserve(t0, ec2, 0, t0.Add(time.Second))
	if err != nil || r.Delay() != 50*time.Millisecond {
		t.Fatalf("Reserve = %v, %v; want a 50 ms wait at 20/s", r.Delay(), err)
	}
	if d, err := r.Confirm(t0.Add(50*time.Millisecond), time.Time{}); d != 0 || err != nil {
		t.Errorf("Confirm = %v, %v", d, err)
	}
	// A wait past the deadline is refused, naming it, with the store's rate.
	_, err = b.Reserve(t0, ec2, 0, t0.Add(10*time.Millisecond))
	var re *RefusedError
	if !errors.As(err, &re) || re.Reason != RefusedDeadline || re.Rate != 20 {
		t.Fatalf("Reserve past the deadline: %v", err)
	}
	// Cancel gives a reservation whose time has not come back to the shared bucket.
	r, _ = b.Reserve(t0, ec2, 0, time.Time{})
	before := st.State(t0, a.routeScope(ec2)).Level
	r.Cancel(t0)
	if after := st.State(t0, a.routeScope(ec2)).Level; after != before+1 {
		t.Errorf("Cancel: level %v → %v", before, after)
	}
	// Feedback goes to the store, which reports the change as the limiter's RateChange.
	ch := a.Feedback(t0, ec2, Feedback{Throttled: true})
	if ch.Kind() != RateCut || ch.Rule != "ec2-non-mutating" || ch.To != 10 || st.fed != 1 {
		t.Errorf("Feedback = %+v (fed %d)", ch, st.fed)
	}
	if s, _ := a.RuleStats("ec2-non-mutating"); s.Cuts != 1 || s.Throttled != 1 {
		t.Errorf("after a cut: %+v", s)
	}
}

// TestStoreFailFastAndUnits: fail-fast refuses a call the shared bucket cannot admit at once;
// a call that also needs a local units bucket gives the shared tokens back when that refuses.
func TestStoreFailFastAndUnits(t *testing.T) {
	st := &memStore{}
	l := New(DefaultRules(), WithStore(st), WithMode(FailFast))
	run := Key{Region: "us-east-1", Service: "EC2", Operation: "RunInstances"}
	// RunInstances: 5 calls of burst (ec2-uncategorized-5-2, shared) and 1000 instances (local).
	if _, err := l.Reserve(t0, run, 990, time.Time{}); err != nil {
		t.Fatal(err)
	}
	_, err := l.Reserve(t0, run, 20, time.Time{})
	var re *RefusedError
	if !errors.As(err, &re) || re.Rule != "ec2-instances-launch" {
		t.Fatalf("units refusal: %v", err)
	}
	if lvl := st.State(t0, l.routeScope(run)).Level; lvl != 4 {
		t.Errorf("the shared bucket holds %v tokens, want 4: the refused call's token given back", lvl)
	}
	for range 4 {
		if _, err := l.Reserve(t0, run, 1, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = l.Reserve(t0, run, 1, time.Time{})
	if !errors.As(err, &re) || re.Reason != RefusedFailFast || re.Rule != "ec2-uncategorized-5-2" {
		t.Fatalf("fail-fast refusal: %v", err)
	}
}

// TestStoreAgain: a call the store cannot back yet waits and asks again when confirmed; it is
// counted once, when decided.
func TestStoreAgain(t *testing.T) {
	st := &memStore{again: 1}
	l := New(DefaultRules(), WithStore(st))
	ec2 := Key{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}
	r, err := l.Reserve(t0, ec2, 0, t0.Add(time.Second))
	if err != nil || r.Delay() != 10*time.Millisecond {
		t.Fatalf("Reserve = %v, %v", r.Delay(), err)
	}
	if s, _ := l.RuleStats("ec2-non-mutating"); s.Admitted+s.Delayed+s.Refused != 0 {
		t.Errorf("counted before it was decided: %+v", s)
	}
	if d, err := r.Confirm(t0.Add(10*time.Millisecond), t0.Add(time.Second)); d != 0 || err != nil {
		t.Fatalf("Confirm = %v, %v", d, err)
	}
	if s, _ := l.RuleStats("ec2-non-mutating"); s.Delayed != 1 {
		t.Errorf("stats %+v: want one delayed call", s)
	}
	if lvl := st.State(t0, l.routeScope(ec2)).Level; lvl != 99 {
		t.Errorf("level %v, want 99", lvl)
	}
}

// routeScope returns the SharedBucket of key's calls scope (for the tests).
func (l *Limiter) routeScope(key Key) *SharedBucket {
	return l.route(key.Service, key.Operation, key.Region).calls.shared
}
