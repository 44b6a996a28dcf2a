package fleet

import (
	"time"
)

// Process is one process of a fleet in virtual time: what Client is in real time, with a
// ModelStore instead of Redis. It runs the same Account and breaker as Client and makes the same
// choices (renew in the background before a lease runs out, ask synchronously only without a
// lease, fall back when the store fails), but nothing runs on its own: a renewal's answer is
// taken into account at the process's first call after it is back. It is not safe for
// concurrent use.
type Process struct {
	store   *ModelStore
	id      string
	pol     Policy
	timeout time.Duration
	buckets map[BucketID]*vbucket
	// Fallbacks and Recoveries count the process's switches to and from fallback.
	Fallbacks, Recoveries int
}

type vbucket struct {
	acct       *Account
	br         breaker
	ticket     *Ticket
	reqID      uint64
	inFallback bool
	syncing    bool // a call waits for the renewal in flight
	failedSync bool // that renewal failed: the waiting call falls back
}

// NewProcess returns process id of a fleet sharing store, with the lease policy pol and the
// store timeout (0: DefaultTimeout).
func NewProcess(store *ModelStore, id string, pol Policy, timeout time.Duration) *Process {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Process{store: store, id: id, pol: pol, timeout: timeout, buckets: map[BucketID]*vbucket{}}
}

func (p *Process) bucket(id BucketID, spec Spec) *vbucket {
	b := p.buckets[id]
	if b == nil {
		b = &vbucket{acct: NewAccount(p.id, spec, p.pol),
			br: breaker{threshold: DefaultFailureThreshold, cooldown: DefaultCooldown, maxCooldown: DefaultMaxCooldown}}
		p.buckets[id] = b
	}
	if b.acct.spec != spec {
		b.acct.SetSpec(spec)
	}
	return b
}

// Reserve decides a call as Client.Reserve does. When the process holds no lease and has asked
// the store for one, it answers with again > 0: call again after again (when the answer is
// back or the request has timed out).
func (p *Process) Reserve(now time.Time, id BucketID, spec Spec, n float64, maxWait time.Duration) (d Decision, again time.Duration) {
	return p.decide(now, id, spec, n, maxWait, true, false)
}

// Redecide is Reserve for a call asking again, as Client.Redecide.
func (p *Process) Redecide(now time.Time, id BucketID, spec Spec, n float64, maxWait time.Duration, queued bool) (d Decision, again time.Duration) {
	return p.decide(now, id, spec, n, maxWait, false, queued)
}

// Feedback records AWS's answer to a call on bucket id at now, as Client.Feedback does.
func (p *Process) Feedback(now time.Time, id BucketID, throttled bool, retryAfter time.Duration) {
	b := p.buckets[id]
	if b == nil {
		return
	}
	p.poll(now, b)
	b.acct.Feedback(now, throttled, retryAfter)
	if b.ticket == nil && b.acct.RenewDue(now) && b.br.allow(now) {
		p.send(now, id, b)
	}
}

// Bucket reports bucket id as this process sees it at now, as Client.Bucket does.
func (p *Process) Bucket(now time.Time, id BucketID) (st BucketState, ok bool) {
	b := p.buckets[id]
	if b == nil {
		return BucketState{}, false
	}
	p.poll(now, b)
	return bucketState(now, b.acct), true
}

func (p *Process) decide(now time.Time, id BucketID, spec Spec, n float64, maxWait time.Duration, count bool, queued bool) (d Decision, again time.Duration) {
	b := p.bucket(id, spec)
	p.poll(now, b)
	if queued {
		b.acct.Unqueue(n) // it asks again; it goes back to the queue if it must wait longer
	}
	d = b.acct.take(now, n, maxWait, count, queued)
	if d.NeedLease {
		if b.ticket == nil && b.br.allow(now) && !b.failedSync {
			p.send(now, id, b)
			b.syncing = true
		}
		if b.ticket != nil {
			return Decision{NeedLease: true}, max(p.store.DoneAt(b.ticket, p.timeout).Sub(now), time.Nanosecond)
		}
		// The store did not answer (or the breaker is open): fall back.
		b.failedSync = false
		b.acct.Fallback(now)
		p.fallback(b)
		d = b.acct.take(now, n, maxWait, false, queued)
	}
	if b.ticket == nil && b.acct.RenewDue(now) && b.br.allow(now) {
		p.send(now, id, b)
	}
	return d, 0
}

// Cancel gives back n tokens reserved for a call that will not be sent.
func (p *Process) Cancel(now time.Time, id BucketID, n float64) {
	if b := p.buckets[id]; b != nil {
		b.acct.Cancel(now, n)
	}
}

// Unqueue takes a queued call of n tokens on bucket id out of the queue.
func (p *Process) Unqueue(id BucketID, n float64) {
	if b := p.buckets[id]; b != nil {
		b.acct.Unqueue(n)
	}
}

// Account returns the process's account on bucket id (nil if never used), for reports.
func (p *Process) Account(id BucketID) *Account {
	if b := p.buckets[id]; b != nil {
		return b.acct
	}
	return nil
}

func (p *Process) send(now time.Time, id BucketID, b *vbucket) {
	q := b.acct.Begin(now)
	b.reqID = q.ReqID
	b.ticket = p.store.Send(now, id, q)
}

// poll takes in the answer of the renewal in flight if it is back by now.
func (p *Process) poll(now time.Time, b *vbucket) {
	if b.ticket == nil {
		return
	}
	r, err, ready := p.store.Poll(now, b.ticket, p.timeout)
	if !ready {
		return
	}
	done := p.store.DoneAt(b.ticket, p.timeout)
	b.ticket = nil
	syncing := b.syncing
	b.syncing = false
	if err != nil {
		b.br.failure(done)
		b.acct.Fail(done, b.reqID)
		b.failedSync = syncing
		return
	}
	b.br.success()
	b.acct.Complete(done, b.reqID, r)
	if b.inFallback {
		b.inFallback = false
		p.Recoveries++
	}
}

func (p *Process) fallback(b *vbucket) {
	if !b.inFallback {
		b.inFallback = true
		p.Fallbacks++
	}
}
