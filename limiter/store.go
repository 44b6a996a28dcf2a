package limiter

import "time"

// Store keeps some of a limiter's buckets outside the process, so that the processes of a fleet
// spend one bucket together instead of one each (package fleet keeps them in Redis, with
// leased tokens). A limiter built WithStore asks the store, once per bucket, whether it keeps
// the bucket of an unpartitioned calls rule (Shares); for those buckets every decision,
// feedback and reading goes to the store, and the limiter's API, modes, refusals and counters
// stay what they are, so that callers (the middleware, the simulator, metrics) need no change.
// Partitioned rules (S3 prefixes, DynamoDB tables), units rules and learned buckets stay local.
//
// A store decides in the limiter's terms: it never sleeps, and every method takes now. Its
// methods are called concurrently, never under a lock of the limiter's.
type Store interface {
	// Shares reports whether the store keeps the buckets of rule, an unpartitioned calls rule.
	// The limiter asks once per bucket, when a call first needs it, while holding a lock:
	// Shares must not call the limiter.
	Shares(rule Rule) bool
	// Reserve decides a call of n tokens on bucket b at now, as Limiter.Reserve does for a
	// local bucket: admitted now (Delay 0), admitted after Delay (the tokens are reserved), or
	// refused. maxWait bounds the delay (< 0: no bound; 0: the call may not wait). again marks
	// a call asking again after a StoreDecision with Again (its demand was counted the first
	// time), and queued that decision's Queued.
	Reserve(now time.Time, b *SharedBucket, n float64, maxWait time.Duration, again, queued bool) StoreDecision
	// Cancel gives back n tokens that Reserve reserved for a call that will not be sent, or,
	// queued set, takes a call out of the store's queue (StoreDecision.Queued).
	Cancel(now time.Time, b *SharedBucket, n float64, queued bool)
	// Feedback records AWS's answer to a call the store admitted, and reports whether the
	// bucket's rate changed since the previous Feedback of this process (the rate is learned
	// by the store, for the whole fleet: see package fleet).
	Feedback(now time.Time, b *SharedBucket, f Feedback) StoreChange
	// State reports the bucket as this process sees it at now.
	State(now time.Time, b *SharedBucket) StoreState
}

// SharedBucket names one bucket a Store keeps and gives its rule's shape. The limiter makes one
// per bucket and passes the same pointer every time. Two processes share a bucket when their
// SharedBuckets name the same rule, Region, Service and Operation.
type SharedBucket struct {
	Rule    string // the rule's name (DisplayName)
	Region  string // the Region, lower-cased
	Service string // the SDK ServiceID, as the bucket's first call gave it
	// Operation is the operation as the bucket's first call gave it, for a rule with one
	// bucket per operation; the rule's name for a rule whose operations share one bucket.
	Operation string
	// Rate, Burst and Cost are the rule's: the shape AWS publishes, a ceiling for a learned rate.
	Rate, Burst, Cost float64
	// Adaptive reports whether the bucket's rate is learned from AWS's answers (an adaptive
	// limiter, a rule without NonAdaptive).
	Adaptive bool
}

// StoreDecision is a Store's answer to Reserve.
type StoreDecision struct {
	// OK: admitted after Delay; the tokens are reserved.
	OK    bool
	Delay time.Duration
	// Again: the store cannot tell yet when the call's tokens come (no lease on the bucket, or
	// none that reaches this far ahead), but may after Delay: the limiter makes the call wait
	// Delay and then asks again (Reservation.Confirm). Delay is within maxWait. Queued: the
	// store counts the call in its queue meanwhile (calls that come later wait behind it); the
	// limiter says so when it asks again, and cancels it (Cancel, queued) if the caller gives
	// up.
	Again  bool
	Queued bool
	// Reason says why the call was refused (when neither OK nor Again): RefusedMaxWait (the
	// limiter names the bound that applied: deadline, max wait, fail-fast), RefusedExceedsBurst
	// or RefusedShared. Wait is the wait it would have needed, when known.
	Reason RefusalReason
	Wait   time.Duration
}

// StoreState is a shared bucket as this process sees it.
type StoreState struct {
	Rate    float64 // the fleet's rate in force, tokens per second
	Burst   float64 // the fleet bucket's burst at that rate
	Learned bool    // Rate is learned (below the rule's)
	Level   float64 // tokens this process holds now (its lease's local bucket)
	Local   float64 // the capacity of this process's local bucket
}

// StoreChange is what a Store's Feedback reports: the bucket's rate moved since the process's
// previous report (Kind RateCut or RateGrowth), or not (RateUnchanged).
type StoreChange struct {
	Kind     RateChangeKind
	From, To float64 // tokens per second
	Burst    float64 // the fleet bucket's burst at To
}

// WithStore keeps the buckets store.Shares chooses in store, shared with the other processes
// that use the same store (see Store). A nil store means none.
func WithStore(store Store) Option { return func(c *config) { c.store = store } }

// sharedScope returns the SharedBucket of an unpartitioned calls scope whose rule the store
// keeps, or nil. region is lower-cased. Caller holds routesMu.
func (l *Limiter) sharedScope(cr *crule, service, operation, region string) *SharedBucket {
	if l.cfg.store == nil || cr.learned || cr.Partition != PartitionNone || cr.Charge != ChargeCalls {
		return nil
	}
	if !l.cfg.store.Shares(cr.Rule) {
		return nil
	}
	op := operation
	if cr.Scope == ScopeShared {
		op = cr.name
	}
	return &SharedBucket{Rule: cr.name, Region: region, Service: service, Operation: op,
		Rate: cr.rate, Burst: cr.burst, Cost: cr.costF, Adaptive: cr.adaptive}
}
