package fleet

import (
	"math"
	"path"
	"sync"
	"time"

	"github.com/tollgate/tollgate/limiter"
)

// Store is a fleet's side of limiter.WithStore: it keeps a limiter's shared buckets in the
// fleet's store — Redis through a Client, or a ModelStore through a Process in the simulator —
// so that the limiter's API (Reserve, Wait, Allow, Feedback, Rate, Tokens) decides on the
// process's lease instead of a bucket of its own:
//
//	fl, err := fleetredis.New(redis.NewClient(&redis.Options{Addr: "localhost:6379"}), fleet.Options{})
//	lim := limiter.New(limiter.DefaultRules(), limiter.WithStore(fl.Store(fleet.StoreOptions{})))
//
// How the limiter's decisions map onto the lease: a call the lease backs is admitted at once or
// after a delay, as a local bucket would admit it; a call the lease cannot back yet — the
// process has no lease (the simulator's store answers after a round trip), no share (the fleet's
// demand took it), or the tokens it needs come after the lease ends — waits until it may have
// them and asks again (StoreDecision.Again: the limiter's Confirm asks), within the caller's
// deadline and MaxWait; past them it is refused as a local bucket's call would be. Fail-closed
// refusals are limiter.RefusedShared.
//
// The fleet learns one rate per bucket, in the store (learn.go): Feedback counts AWS's answers
// for the next renewal, and reports a cut or a growth of the fleet's rate when this process
// first sees it, so the limiter's RateChange (and the middleware's RateChanged events) say
// what the fleet did. A Store is safe for concurrent use when its Client is; a Store over a
// Process is not (a simulation is single-threaded).
type Store struct {
	d     driver
	rules []string

	buckets sync.Map // *limiter.SharedBucket → *storeBucket
}

// StoreOptions choose what a Store shares.
type StoreOptions struct {
	// Rules are the names of the rules whose buckets the fleet shares, as globs (path.Match:
	// "ec2-*"); empty means every unpartitioned calls rule — EC2's, KMS's, Lambda's and STS's
	// account-wide buckets. Partitioned rules (S3 prefixes, DynamoDB tables), units rules and
	// learned buckets always stay local to the process (see limiter.Store).
	Rules []string
}

// storeBucket is what a Store keeps for one shared bucket.
type storeBucket struct {
	id   BucketID
	spec Spec

	mu       sync.Mutex
	reported float64 // the fleet rate last reported as a change (Feedback)
}

// driver is the Client or Process a Store decides through.
type driver interface {
	decide(now time.Time, id BucketID, spec Spec, n float64, maxWait time.Duration, count, queued bool) (Decision, time.Duration)
	cancel(now time.Time, id BucketID, n float64, queued bool)
	feedback(now time.Time, id BucketID, throttled bool, retryAfter time.Duration)
	state(now time.Time, id BucketID) (BucketState, bool)
}

// Store returns the limiter.Store of this Client (see Store).
func (c *Client) Store(opt StoreOptions) *Store { return &Store{d: clientDriver{c}, rules: opt.Rules} }

// Store returns the limiter.Store of this Process, for a limiter in virtual time.
func (p *Process) Store(opt StoreOptions) *Store {
	return &Store{d: processDriver{p}, rules: opt.Rules}
}

type clientDriver struct{ c *Client }

func (d clientDriver) decide(now time.Time, id BucketID, spec Spec, n float64, maxWait time.Duration, count, queued bool) (Decision, time.Duration) {
	return d.c.decide(now, id, spec, n, maxWait, count, queued), 0
}
func (d clientDriver) cancel(now time.Time, id BucketID, n float64, queued bool) {
	if queued {
		d.c.Unqueue(id, n)
		return
	}
	d.c.Cancel(now, id, n)
}
func (d clientDriver) feedback(now time.Time, id BucketID, thr bool, ra time.Duration) {
	d.c.Feedback(now, id, thr, ra)
}
func (d clientDriver) state(now time.Time, id BucketID) (BucketState, bool) {
	return d.c.Bucket(now, id)
}

type processDriver struct{ p *Process }

func (d processDriver) decide(now time.Time, id BucketID, spec Spec, n float64, maxWait time.Duration, count, queued bool) (Decision, time.Duration) {
	return d.p.decide(now, id, spec, n, maxWait, count, queued)
}
func (d processDriver) cancel(now time.Time, id BucketID, n float64, queued bool) {
	if queued {
		d.p.Unqueue(id, n)
		return
	}
	d.p.Cancel(now, id, n)
}
func (d processDriver) feedback(now time.Time, id BucketID, thr bool, ra time.Duration) {
	d.p.Feedback(now, id, thr, ra)
}
func (d processDriver) state(now time.Time, id BucketID) (BucketState, bool) {
	return d.p.Bucket(now, id)
}

// Shares reports whether the fleet shares rule's buckets: StoreOptions.Rules.
func (s *Store) Shares(rule limiter.Rule) bool {
	if len(s.rules) == 0 {
		return true
	}
	name := rule.DisplayName()
	for _, g := range s.rules {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

func (s *Store) bucket(b *limiter.SharedBucket) *storeBucket {
	if v, ok := s.buckets.Load(b); ok {
		return v.(*storeBucket)
	}
	sb := &storeBucket{
		id:       BucketID{Rule: b.Rule, Region: b.Region, Service: b.Service, Operation: b.Operation},
		spec:     Spec{Rate: b.Rate, Burst: b.Burst, Cost: b.Cost, Adaptive: b.Adaptive},
		reported: b.Rate,
	}
	v, _ := s.buckets.LoadOrStore(b, sb)
	return v.(*storeBucket)
}

// Reserve decides a call on the process's lease (see Store).
func (s *Store) Reserve(now time.Time, b *limiter.SharedBucket, n float64, maxWait time.Duration, again, queued bool) limiter.StoreDecision {
	sb := s.bucket(b)
	d, later := s.d.decide(now, sb.id, sb.spec, n, maxWait, !again, queued)
	if later > 0 {
		// The store's answer is on its way (virtual time): ask again when it is back.
		return askAgain(later, maxWait)
	}
	switch {
	case d.OK:
		return limiter.StoreDecision{OK: true, Delay: d.Delay}
	case d.Queued:
		// The tokens come with the next lease: the call waits in the queue and asks again.
		return limiter.StoreDecision{Again: true, Queued: true, Delay: d.Delay}
	case d.Reason == RefusedMaxWait:
		return limiter.StoreDecision{Reason: limiter.RefusedMaxWait, Wait: d.Wait}
	case d.Reason == RefusedExceedsBurst:
		return limiter.StoreDecision{Reason: limiter.RefusedExceedsBurst}
	case d.Reason == RefusedShare && d.Wait > 0:
		// No share for now: the process asks the store again after Wait.
		return askAgain(d.Wait, maxWait)
	}
	return limiter.StoreDecision{Reason: limiter.RefusedShared, Wait: d.Wait}
}

// askAgain tells the limiter to wait and ask again after wait, if the caller may wait that long.
func askAgain(wait, maxWait time.Duration) limiter.StoreDecision {
	if maxWait >= 0 && wait > maxWait {
		return limiter.StoreDecision{Reason: limiter.RefusedMaxWait, Wait: wait}
	}
	return limiter.StoreDecision{Again: true, Delay: wait}
}

// Cancel gives back tokens reserved for a call that will not be sent, or takes a queued call out
// of the queue.
func (s *Store) Cancel(now time.Time, b *limiter.SharedBucket, n float64, queued bool) {
	s.d.cancel(now, s.bucket(b).id, n, queued)
}

// Feedback counts AWS's answer for the fleet's learned rate and reports the change of that rate
// this process has seen since its previous report: a cut, or growth past a step of about 6%.
func (s *Store) Feedback(now time.Time, b *limiter.SharedBucket, f limiter.Feedback) limiter.StoreChange {
	sb := s.bucket(b)
	s.d.feedback(now, sb.id, f.Throttled, f.RetryAfter)
	st, ok := s.d.state(now, sb.id)
	if !ok {
		return limiter.StoreChange{}
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	from := sb.reported
	switch {
	case st.Rate < from:
		sb.reported = st.Rate
		return limiter.StoreChange{Kind: limiter.RateCut, From: from, To: st.Rate, Burst: st.Burst}
	case st.Rate > from && rateStep(st.Rate) != rateStep(from):
		sb.reported = st.Rate
		return limiter.StoreChange{Kind: limiter.RateGrowth, From: from, To: st.Rate, Burst: st.Burst}
	}
	return limiter.StoreChange{}
}

// rateStep quantises a rate into steps of about 6%, as the limiter reports growth.
func rateStep(r float64) uint32 { return math.Float32bits(float32(r)) >> 19 }

// State reports the bucket as this process sees it: before its first call, the rule's shape.
func (s *Store) State(now time.Time, b *limiter.SharedBucket) limiter.StoreState {
	sb := s.bucket(b)
	st, ok := s.d.state(now, sb.id)
	if !ok {
		return limiter.StoreState{Rate: b.Rate, Burst: b.Burst}
	}
	return limiter.StoreState{Rate: st.Rate, Burst: st.Burst, Learned: st.Learned, Level: st.Level, Local: st.Local}
}

var _ limiter.Store = (*Store)(nil)
