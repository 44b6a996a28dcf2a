package simulate

import (
	"strings"
	"time"
	"unsafe"

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
	TimedOut       uint64 // the call's deadline passed while it waited (to be admitted, or to retry)
	// TimedOutInFlight: the call's deadline passed while an attempt was in flight, and the
	// caller cancelled it (as the SDK's HTTP request is cancelled by its context)
	TimedOutInFlight uint64
	Exhausted        uint64 // the call used all its attempts
	NonRetryable     uint64 // the last failure was not retryable
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
	c.TimedOutInFlight += o.TimedOutInFlight
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

// merge adds o into s, coarsening the finer of the two first. An empty o (no width: nothing
// was counted in it) adds nothing.
func (s *Series) merge(o Series) {
	if o.Width == 0 {
		return
	}
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
	// unlimited: some request matched no rule
	unlimited bool
	// recent remembers requests already added, in slots chosen by their strings' addresses:
	// a trace reader shares the strings of recurring values, so a recurring request is found
	// here without hashing its strings.
	recent *[256]recentRequest
}

// recentRequest is what of a request decides its server bucket (serverBucket): not its prefix.
type recentRequest struct {
	region, service, operation, resource string
	unfiltered                           bool
}

func newCapacityTracker(rules limiter.Rules) *capacityTracker {
	return &capacityTracker{rules: rules, seen: map[string]struct{}{}, cache: map[limiter.Key]struct{}{}}
}

// add records that the workload sends r. Adding a request again, or one that differs only by
// its prefix, changes nothing.
func (t *capacityTracker) add(r *server.Request) {
	if t.recent == nil {
		t.recent = new([256]recentRequest)
	}
	rr := recentRequest{r.Region, r.Service, r.Operation, r.Resource, r.Unfiltered}
	slot := &t.recent[addrHash(r.Region, r.Service, r.Operation, r.Resource)&255]
	if slot.same(&rr) {
		return
	}
	*slot = rr
	k := limiter.Key{Region: r.Region, Service: r.Service, Operation: r.Operation, Resource: r.Resource}
	if r.Unfiltered {
		k.Prefix = "\x00u"
	}
	if _, ok := t.cache[k]; ok {
		return
	}
	if len(t.cache) < 1<<16 {
		t.cache[k] = struct{}{}
	}
	id, rate, burst, ok := serverBucket(t.rules, r)
	if !ok {
		t.unlimited = true
		return
	}
	if _, dup := t.seen[id]; dup {
		return
	}
	t.seen[id] = struct{}{}
	t.rate += rate
	t.burst += float64(burst)
}

// tally returns the tracked buckets' capacity over a window of w: their bursts and their refill.
func (t *capacityTracker) tally(w time.Duration) capTally {
	return capTally{tokens: exactTokens(t.rate*w.Seconds() + t.burst), unlimited: t.unlimited}
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

// same reports whether r and o are the same request, by the addresses of their strings: equal
// strings at different addresses make it report false, which only costs a cache a miss.
func (r *recentRequest) same(o *recentRequest) bool {
	return r.service != "" && r.unfiltered == o.unfiltered && sameAddr(r.region, o.region) && sameAddr(r.service, o.service) &&
		sameAddr(r.operation, o.operation) && sameAddr(r.resource, o.resource)
}

// sameAddr reports whether a and b are the same bytes in memory (hence equal).
func sameAddr(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}

// addrHash hashes the addresses and lengths of strings, not their contents: equal strings at
// different addresses hash differently, which only costs a cache a miss.
func addrHash(ss ...string) uint64 {
	var h uint64
	for _, s := range ss {
		h = (h ^ uint64(uintptr(unsafe.Pointer(unsafe.StringData(s)))) ^ uint64(len(s))) * 0x9e3779b97f4a7c15
	}
	return h ^ h>>29
}
