package simulate

import (
	"strings"
	"time"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/server"
)

// Counters are the tallies of one group (or of a whole strategy), summed over runs.
type Counters struct {
	Requests     uint64 // calls started
	Attempts     uint64 // attempts sent to the server
	Successes    uint64 // calls that succeeded
	OnTime       uint64 // calls that succeeded within the load window (for goodput)
	Throttled    uint64 // attempts the server throttled
	ServerErrors uint64 // attempts the server failed (HTTP 500)
	GiveUps      uint64 // calls that ended without success, for any reason below
	// Why calls gave up.
	LimiterRefused uint64 // client-side: the limiter refused an attempt
	BudgetRefused  uint64 // client-side: the retry budget refused a retry
	TimedOut       uint64 // the call's deadline passed
	Exhausted      uint64 // the call used all its attempts
	NonRetryable   uint64 // the last failure was not retryable
	// LimiterWaits counts attempts that waited for a client-side token; LimiterWait is the
	// total time they waited.
	LimiterWaits uint64
	LimiterWait  time.Duration
}

func (c *Counters) add(o *Counters) {
	c.Requests += o.Requests
	c.Attempts += o.Attempts
	c.Successes += o.Successes
	c.OnTime += o.OnTime
	c.Throttled += o.Throttled
	c.ServerErrors += o.ServerErrors
	c.GiveUps += o.GiveUps
	c.LimiterRefused += o.LimiterRefused
	c.BudgetRefused += o.BudgetRefused
	c.TimedOut += o.TimedOut
	c.Exhausted += o.Exhausted
	c.NonRetryable += o.NonRetryable
	c.LimiterWaits += o.LimiterWaits
	c.LimiterWait += o.LimiterWait
}

// Series counts attempts, successes and throttles over virtual time in bins of Width.
type Series struct {
	Width     time.Duration
	Attempts  []uint64
	Successes []uint64
	Throttled []uint64
}

// maxSeriesBins bounds a series: past it, bins are merged in pairs (Width doubles).
const maxSeriesBins = 1200

// seriesWidth picks a bin width of whole seconds giving at most about 300 bins for d.
func seriesWidth(d time.Duration) time.Duration {
	w := time.Second
	for d/w > 300 {
		w *= 2
	}
	return w
}

func (s *Series) bin(ns int64) int {
	i := int(ns / int64(s.Width))
	for i >= maxSeriesBins {
		s.coarsen()
		i = int(ns / int64(s.Width))
	}
	for len(s.Attempts) <= i {
		s.Attempts = append(s.Attempts, 0)
		s.Successes = append(s.Successes, 0)
		s.Throttled = append(s.Throttled, 0)
	}
	return i
}

// coarsen doubles the width, merging bins in pairs.
func (s *Series) coarsen() {
	s.Width *= 2
	for _, v := range []*[]uint64{&s.Attempts, &s.Successes, &s.Throttled} {
		old := *v
		n := (len(old) + 1) / 2
		for i := 0; i < n; i++ {
			x := old[2*i]
			if 2*i+1 < len(old) {
				x += old[2*i+1]
			}
			old[i] = x
		}
		*v = old[:n]
	}
}

// merge adds o into s, coarsening the finer of the two first.
func (s *Series) merge(o Series) {
	if s.Width == 0 {
		s.Width = o.Width
	}
	for o.Width < s.Width {
		o = Series{Width: o.Width, Attempts: append([]uint64(nil), o.Attempts...),
			Successes: append([]uint64(nil), o.Successes...), Throttled: append([]uint64(nil), o.Throttled...)}
		o.coarsen()
	}
	for s.Width < o.Width {
		s.coarsen()
	}
	if n := len(o.Attempts); n > 0 {
		s.bin(int64(n-1) * int64(s.Width))
	}
	for i := range o.Attempts {
		s.Attempts[i] += o.Attempts[i]
		s.Successes[i] += o.Successes[i]
		s.Throttled[i] += o.Throttled[i]
	}
}

// capacityTracker sums the refill rates and bursts of the distinct server buckets a workload
// touches, to express goodput as a share of what the server could have served.
type capacityTracker struct {
	rules limiter.Rules
	seen  map[string]struct{}
	cache map[limiter.Key]struct{}
	rate  float64
	burst float64
}

func newCapacityTracker(rules limiter.Rules) *capacityTracker {
	return &capacityTracker{rules: rules, seen: map[string]struct{}{}, cache: map[limiter.Key]struct{}{}}
}

// add records that the workload sends r.
func (t *capacityTracker) add(r *server.Request) {
	k := limiter.Key{Region: r.Region, Service: r.Service, Operation: r.Operation, Resource: r.Resource, Prefix: r.Prefix}
	if r.Unfiltered {
		k.Prefix += "\x00u"
	}
	if _, ok := t.cache[k]; ok {
		return
	}
	if len(t.cache) < 1<<16 {
		t.cache[k] = struct{}{}
	}
	id, rate, burst, ok := serverBucket(t.rules, r)
	if !ok {
		return
	}
	if _, dup := t.seen[id]; dup {
		return
	}
	t.seen[id] = struct{}{}
	t.rate += rate
	t.burst += float64(burst)
}

// serverBucket names the server bucket a request is charged to under rules, with its rate and
// burst. S3 requests are counted against their bucket's parent partition, the one every S3
// bucket starts with.
func serverBucket(rules limiter.Rules, r *server.Request) (id string, rate float64, burst int, ok bool) {
	op := r.Operation
	if r.Unfiltered {
		if u, has := limiter.UnfilteredOperation(op); has {
			op = u
		}
	}
	rule, ok := rules.Match(r.Service, op, r.Region)
	if !ok {
		return "", 0, 0, false
	}
	id = rule.DisplayName() + "|" + strings.ToLower(r.Region)
	if rule.Scope == limiter.ScopeOperation {
		id += "|" + strings.ToLower(op)
	}
	if rule.Partition != limiter.PartitionNone {
		id += "|" + r.Resource
	}
	return id, rule.Rate, rule.Burst, true
}
