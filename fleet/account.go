package fleet

import (
	"fmt"
	"math"
	"time"
)

// Spec is a shared bucket's shape as the process's rules give it.
type Spec struct {
	Rate  float64 // tokens per second (> 0): the rule's; the fleet may learn a lower one
	Burst float64 // tokens (> 0)
	Cost  float64 // tokens one call takes: the least burst worth leasing (0 means 1)
	// Adaptive: the fleet learns the bucket's rate from AWS's answers (Account.Feedback),
	// one rate for the whole fleet (learn.go). Off, the bucket keeps Rate.
	Adaptive bool
}

func (s Spec) cost() float64 {
	if s.Cost > 0 {
		return s.Cost
	}
	return 1
}

// Validate reports a spec that no bucket can have.
func (s Spec) Validate() error {
	switch {
	case !(s.Rate > 0) || math.IsInf(s.Rate, 0):
		return fmt.Errorf("fleet: rate %v: must be a positive number", s.Rate)
	case !(s.Burst > 0) || math.IsInf(s.Burst, 0):
		return fmt.Errorf("fleet: burst %v: must be a positive number", s.Burst)
	case s.Cost < 0 || s.Cost > s.Burst:
		return fmt.Errorf("fleet: cost %v: must be between 0 and the burst %v", s.Cost, s.Burst)
	}
	return nil
}

// demandHeadroom scales the demand a process reports: it asks for a quarter more than its
// recent demand, so that random bursts of a light process fit in its share and a growing demand
// shows before it is refused. (It takes nothing from busy processes: their demand exceeds
// their share anyway, and max-min fairness caps every share at an equal split of what is left.)
const demandHeadroom = 1.25

// DefaultLeaseTTL is how long a lease lasts unless Policy.LeaseTTL says otherwise. A process
// renews a lease it uses when half of it is left, so a busy process makes about one round trip
// per bucket per second.
const DefaultLeaseTTL = 2 * time.Second

// Policy is how a process leases and falls back. The zero value is the default.
type Policy struct {
	// LeaseTTL is how long a lease lasts (default DefaultLeaseTTL). Longer leases mean fewer
	// round trips and slower reaction to changes in demand; a process that dies strands its
	// share for at most this long.
	LeaseTTL time.Duration
	// FallbackShare is the fraction of the bucket's rate and burst a process uses without the
	// store. 0 (the default) means 1/n, n being the processes that held a lease at this
	// process's last renewal (Doorman's "safe capacity"); a process that never reached the store
	// then uses the whole bucket, as a tollgate without a fleet store would.
	FallbackShare float64
	// FailClosed refuses every call that the lease does not cover while the store is
	// unreachable, instead of falling back to a local share.
	FailClosed bool
}

func (p Policy) ttl() time.Duration {
	if p.LeaseTTL > 0 {
		return p.LeaseTTL
	}
	return DefaultLeaseTTL
}

// Refusal says why an Account refused a call.
type Refusal uint8

const (
	// RefusedShare: the process holds no share of the bucket (the fleet's demand took it all;
	// its next renewal asks again).
	RefusedShare Refusal = iota + 1
	// RefusedLease: the call would wait past the end of the process's lease: the tokens it
	// needs are not the process's yet. (Reserve queues such a call instead: Decision.Queued.)
	RefusedLease
	// RefusedMaxWait: the call would wait longer than the caller allows.
	RefusedMaxWait
	// RefusedExceedsBurst: the call needs more tokens than the bucket holds.
	RefusedExceedsBurst
	// RefusedFailClosed: the store is unreachable and the policy is fail-closed.
	RefusedFailClosed
)

var refusalNames = [...]string{"", "fleet-share", "fleet-lease", "max-wait", "exceeds-burst", "fleet-fail-closed"}

func (r Refusal) String() string {
	if int(r) < len(refusalNames) && r != 0 {
		return refusalNames[r]
	}
	return fmt.Sprintf("Refusal(%d)", r)
}

// Decision is an Account's answer for one call.
type Decision struct {
	OK     bool          // admitted (after Delay)
	Delay  time.Duration // wait this long before sending
	Reason Refusal       // why not, when !OK and !NeedLease
	Wait   time.Duration // for a refusal: the wait it would have needed, when known
	// NeedLease: the process holds no lease and may ask for one: renew (Begin, then
	// Complete or Fail) and decide again.
	NeedLease bool
	// Queued: the call's tokens come after the lease ends, when the next lease (or the
	// fallback) refills them. The call waits in the process's queue, holding no tokens (the
	// store knows nothing of it): after Delay it decides again (Redecide, queued) and is
	// admitted if the lease then backs it. Calls that arrive meanwhile wait behind it.
	// Unqueue takes a call that gives up out of the queue.
	Queued bool
}

// Mode is where an Account's tokens come from.
type Mode uint8

const (
	// NoLease: no lease yet, or the last one ended; the next call asks the store for one.
	NoLease Mode = iota
	// Leased: a lease from the store backs every token the process spends.
	Leased
	// Fallback: the store is unreachable; the process spends a local share of the bucket
	// (or nothing, fail-closed) and tells the store what it spent at its next lease.
	Fallback
)

var modeNames = [...]string{"no-lease", "leased", "fallback"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", m)
}

// Account is one process's side of one shared bucket: its lease, the local token bucket the
// lease fills, its recent demand, and the accounting that settles with the store at each
// renewal. It is pure — every method takes now, nothing reads a clock, sleeps or does IO — so
// the Redis driver (Client) and the simulator run the same code. It is not safe for concurrent
// use: its owner serialises calls.
//
// The local bucket refills at the lease's share up to its burst until the lease ends; a call
// takes tokens now, or reserves them ahead (the level goes negative) if they will have refilled
// before the lease ends. While a renewal is in flight the bucket goes on refilling at the old
// share; if the new lease's share is smaller, the difference over the whole round trip is taken
// back when the answer comes (as if the store had switched leases the moment the request left),
// so the process never counts more than the store does.
type Account struct {
	client string
	spec   Spec
	pol    Policy

	mode  Mode
	seq   uint64
	reqID uint64
	epoch string
	share float64 // tokens per second, under the lease
	burst float64 // local bucket capacity, under the lease
	// carryRate is the previous lease's larger share, which goes on until carryEnd to pay
	// for the calls reserved ahead at it (Reply.Carry).
	carryRate float64
	carryEnd  time.Time
	expires   time.Time // local end of the lease: its TTL counted from when the request left
	granted   time.Time // when the lease's request left (the lease's local start)
	live      int       // processes holding a lease at the last renewal

	level float64   // local bucket: tokens (negative: reserved ahead)
	stamp time.Time // level is as of stamp
	// queued is the tokens of the calls waiting for a later lease (Decision.Queued): a new
	// call waits behind them.
	queued float64

	pending       bool
	pendingRefill float64 // refill under the lease while the renewal is in flight
	pendingSpent  float64 // tokens taken while the renewal is in flight
	sentAt        time.Time
	sentMode      Mode
	sentLevel     float64
	sentUnbacked  float64
	sentAllowance float64

	unbacked  float64   // spent without a lease since the last one
	allowance float64   // what the fallback share accrued meanwhile
	overflow  float64   // lease refill lost to a full local bucket since the last renewal
	retryAt   time.Time // no share: do not ask again before
	short     bool      // a call found the lease short since the last renewal
	used      bool      // a call since the last renewal
	dem       demand

	// AWS's answers since the last renewal (Feedback), and those of the renewal in flight.
	succ, thr         float64
	sentSucc, sentThr float64
	// rate is the fleet's rate in force at the last reply (0: none yet: the rule's), and
	// learned whether the fleet learned it.
	rate    float64
	learned bool
	// throttled: AWS throttled a call since the last renewal (it renews early, so the fleet
	// learns soon). more: at the last renewal the store had more to give than this lease —
	// tokens in its pool, or a share below an equal split — or the fleet was changing (the
	// processes sharing the bucket changed, the store had lost it, this process came back from
	// a fallback), so a lease found short is renewed early; when every process is short and
	// shares are equal and settled, renewing early gives nothing.
	throttled, more bool
}

// NewAccount returns the account of process client (unique in the fleet) on a bucket of shape
// spec. It holds no lease: its first decision asks for one.
func NewAccount(client string, spec Spec, pol Policy) *Account {
	return &Account{client: client, spec: spec, pol: pol}
}

// Mode reports where the account's tokens come from at its latest time.
func (a *Account) Mode() Mode { return a.mode }

// Lease reports the current lease: share (tokens per second), burst and end. Zero when none.
func (a *Account) Lease() (share, burst float64, expires time.Time) {
	if a.mode != Leased {
		return 0, 0, time.Time{}
	}
	return a.share, a.burst, a.expires
}

// Live is the number of processes that held a lease at the last renewal (0 before the first).
func (a *Account) Live() int { return a.live }

// Unbacked is what the process spent without a lease and has not yet reported to the store.
func (a *Account) Unbacked() float64 { return a.unbacked + a.sentUnbacked }

// SetSpec changes the bucket's shape (a rules reload, a learned rate); the next renewal tells
// the store.
func (a *Account) SetSpec(s Spec) { a.spec = s }

// Rate reports the bucket's rate in force as the store last said (the rule's before it has
// said anything), its burst at that rate, and whether the fleet learned it (below the rule's).
func (a *Account) Rate() (rate, burst float64, learned bool) {
	rate, burst = a.spec.Rate, a.spec.Burst
	if a.rate > 0 && a.rate < rate {
		burst = max(burst*a.rate/rate, a.spec.cost())
		rate = a.rate
	}
	return rate, burst, a.learned
}

// Level reports the tokens the process holds at now (negative: reserved ahead) and its local
// bucket's capacity (0 without a lease or fallback share).
func (a *Account) Level(now time.Time) (level, capacity float64) {
	now = a.advance(now)
	switch a.mode {
	case Leased:
		return a.level, a.burst
	case Fallback:
		_, b := a.fallbackShape()
		return a.level, b
	}
	return a.level, 0
}

// fallbackShape is the local bucket without the store: a share of the fleet's rate in force.
func (a *Account) fallbackShape() (rate, burst float64) {
	if a.pol.FailClosed {
		return 0, 0
	}
	f := a.pol.FallbackShare
	if f <= 0 || f > 1 {
		f = 1
		if a.live > 0 {
			f = 1 / float64(a.live)
		}
	}
	r, b, _ := a.Rate()
	return r * f, max(b*f, a.spec.cost())
}

// Feedback records AWS's answer to a call at now: a throttle or a success (other outcomes teach
// nothing). The counts go to the store at the next renewal, where the fleet learns its rate;
// a throttle brings that renewal forward. retryAfter (a server's hint, capped at 20 s) holds
// the process's next call back until it has passed.
func (a *Account) Feedback(now time.Time, throttled bool, retryAfter time.Duration) {
	now = a.advance(now)
	if throttled {
		a.thr++
		a.throttled = true
	} else {
		a.succ++
	}
	if retryAfter > 0 {
		rate := a.share
		if a.mode == Fallback {
			rate, _ = a.fallbackShape()
		}
		pause := min(retryAfter, maxRetryAfter).Seconds()
		a.level = min(a.level, a.spec.cost()-float64(pause*rate))
	}
}

// maxRetryAfter caps a server's Retry-After hint, as the limiter does.
const maxRetryAfter = 20 * time.Second

// advance brings the local bucket to now: refill under the lease (not while a renewal is in
// flight, not past the lease's end) or under the fallback share. A lease that has ended leaves
// NoLease, its unspent tokens void and its reservations (already due by its end) kept.
func (a *Account) advance(now time.Time) time.Time {
	if now.Before(a.stamp) {
		now = a.stamp
	}
	switch a.mode {
	case Leased:
		end := now
		if a.expires.Before(end) {
			end = a.expires
		}
		if end.After(a.stamp) {
			add, t := 0.0, a.stamp
			if a.carryEnd.After(t) {
				ce := a.carryEnd
				if ce.After(end) {
					ce = end
				}
				add, t = a.carryRate*ce.Sub(t).Seconds(), ce
			}
			add += a.share * end.Sub(t).Seconds()
			was := a.level
			a.level = refill(a.level, add, a.burst)
			if a.pending {
				a.pendingRefill += a.level - was
			} else {
				a.overflow += add - (a.level - was)
			}
		}
		if !now.Before(a.expires) {
			a.mode, a.share, a.burst = NoLease, 0, 0
			a.level = min(a.level, 0)
		}
	case Fallback:
		r, b := a.fallbackShape()
		add := r * now.Sub(a.stamp).Seconds()
		a.level = refill(a.level, add, b)
		a.allowance += add
	}
	a.stamp = now
	return now
}

// Reserve decides a call of n tokens at now: admitted at once, admitted after a delay (the
// tokens are reserved ahead, no later than the lease's end), or refused. maxWait < 0 means no
// limit of the caller's; 0 means the call may not wait.
func (a *Account) Reserve(now time.Time, n float64, maxWait time.Duration) Decision {
	return a.take(now, n, maxWait, true, false)
}

// Allow takes n tokens if the local bucket holds them at now, never reserving ahead.
func (a *Account) Allow(now time.Time, n float64) Decision { return a.take(now, n, 0, true, false) }

// Redecide is Reserve again for a call that got NeedLease, once the renewal has ended, or that
// was queued (queued set: it leaves the queue, and goes back to it if it must wait longer):
// its demand is not counted twice.
func (a *Account) Redecide(now time.Time, n float64, maxWait time.Duration, queued bool) Decision {
	if queued {
		a.Unqueue(n)
	}
	return a.take(now, n, maxWait, false, queued)
}

// Unqueue takes a queued call of n tokens out of the queue: its caller gave up.
func (a *Account) Unqueue(n float64) { a.queued = max(a.queued-n, 0) }

// take decides a call; queued marks a call that was queued and has left the queue to ask again
// (its caller took it out: Unqueue).
func (a *Account) take(now time.Time, n float64, maxWait time.Duration, count, queued bool) Decision {
	now = a.advance(now)
	if count {
		a.dem.add(now, n, a.pol.ttl())
		a.used = true
	}
	if n > a.spec.Burst {
		return Decision{Reason: RefusedExceedsBurst}
	}
	var rate float64
	switch a.mode {
	case NoLease:
		if a.pending {
			return Decision{NeedLease: true}
		}
		if now.Before(a.retryAt) {
			return Decision{Reason: RefusedShare, Wait: a.retryAt.Sub(now)}
		}
		return Decision{NeedLease: true}
	case Leased:
		rate = a.share
	case Fallback:
		rate, _ = a.fallbackShape()
	}
	// have is what the local bucket holds for this call: a new call waits behind the queued
	// ones; a queued call asking again (at its turn, as its Delay was reckoned) does not.
	have := a.level
	if !queued {
		have -= a.queued
	}
	if have >= n {
		a.takeNow(n)
		return Decision{OK: true}
	}
	a.short = true
	delay, ok := a.waitFor(now, n-have, rate)
	if !ok {
		if a.mode == Fallback {
			return Decision{Reason: RefusedFailClosed}
		}
		return Decision{Reason: RefusedShare}
	}
	if maxWait >= 0 && delay > maxWait {
		return Decision{Reason: RefusedMaxWait, Wait: delay}
	}
	if (!queued && a.queued > 0) || (a.mode == Leased && now.Add(delay).After(a.expires)) {
		// The tokens come after this lease (the next lease refills them, at its share), or
		// calls are queued ahead of this one: it waits in the queue, behind them, and asks
		// again when its tokens may have come.
		a.queued += n
		return Decision{Queued: true, Delay: delay, Wait: delay}
	}
	a.takeNow(n)
	return Decision{OK: true, Delay: delay}
}

// takeNow takes n tokens from the local bucket (into debt if need be).
func (a *Account) takeNow(n float64) {
	a.level -= n
	a.spent(n)
}

// waitFor is how long from now until need more tokens have refilled at rate — a carried share
// paying first — and false if they never will.
func (a *Account) waitFor(now time.Time, need, rate float64) (time.Duration, bool) {
	var wait time.Duration
	if a.mode == Leased && a.carryEnd.After(now) {
		span := a.carryEnd.Sub(now)
		c := a.carryRate * span.Seconds()
		if need <= c {
			return seconds(need / a.carryRate), true
		}
		wait, need = span, need-c
	}
	if rate <= 0 {
		return 0, false
	}
	return wait + seconds(need/rate), true
}

// seconds converts s seconds to a Duration, rounded up, and to the longest Duration when it is
// longer: a float beyond int64's range does not convert to a Duration (on amd64 it becomes the
// most negative one, a wait that every bound lets through).
func seconds(s float64) time.Duration {
	const most = time.Duration(math.MaxInt64) / 2 // room to add a carried share's span
	if ns := math.Ceil(s * 1e9); ns < float64(most) {
		return time.Duration(ns)
	}
	return most
}

// spent books n tokens taken from the local bucket.
func (a *Account) spent(n float64) {
	switch {
	case a.mode == Fallback:
		a.unbacked += n
	case a.pending:
		a.pendingSpent += n
	}
}

// Cancel gives back n tokens reserved by a call that will not be sent after all (its delay had
// not yet passed at now).
func (a *Account) Cancel(now time.Time, n float64) {
	a.advance(now)
	a.level += n
	if a.mode == Fallback {
		a.unbacked = max(a.unbacked-n, 0)
	}
}

// RenewDue reports whether the process should ask the store for a lease at now: it has none (and
// may ask), it is in fallback (the driver's breaker decides when to try), its lease is half
// over and it has been used, or — at most every LeaseTTL/8 — AWS throttled a call, or a call
// found the lease short while the store had more to give.
func (a *Account) RenewDue(now time.Time) bool {
	now = a.advance(now)
	if a.pending || now.Before(a.retryAt) {
		return false
	}
	ttl := a.pol.ttl()
	switch a.mode {
	case NoLease:
		return a.used
	case Fallback:
		return true
	}
	if !a.used {
		return false
	}
	length, elapsed := a.expires.Sub(a.granted), now.Sub(a.granted)
	early := (a.short && a.more) || a.throttled
	return elapsed >= length/2 || (early && elapsed >= min(length, ttl)/8)
}

// Begin starts a renewal at now and returns the request to send. Until Complete or Fail, the
// local bucket does not refill.
func (a *Account) Begin(now time.Time) Request {
	now = a.advance(now)
	a.reqID++
	q := Request{Client: a.client, ReqID: a.reqID, Seq: a.seq, Epoch: a.epoch,
		Demand: a.dem.rate(now, a.pol.ttl()) * demandHeadroom, Unbacked: a.unbacked, Allowance: a.allowance, Fleet: a.live,
		Rate: a.spec.Rate, Burst: a.spec.Burst, MinBurst: a.spec.cost(), TTL: a.pol.ttl().Microseconds(),
		Succ: a.succ, Thr: a.thr, Adaptive: a.spec.Adaptive}
	a.sentSucc, a.sentThr, a.succ, a.thr = a.succ, a.thr, 0, 0
	switch a.mode {
	case Leased:
		q.Level, q.Overflow = a.level, a.overflow
	case Fallback:
		// Calls reserved ahead in fallback are not sent yet: the new lease carries them as
		// its debt (Level), and only what is due now counts as spent without a lease.
		queued := max(-a.level, 0)
		q.Level = -queued
		q.Unbacked = max(a.unbacked-queued, 0)
	}
	a.overflow = 0
	a.pending, a.sentAt, a.sentMode, a.sentLevel = true, now, a.mode, a.level
	a.pendingRefill, a.pendingSpent = 0, 0
	a.sentUnbacked, a.unbacked = a.unbacked, 0
	a.sentAllowance, a.allowance = a.allowance, 0
	a.short, a.used, a.throttled = false, false, false
	return q
}

// Pending reports whether a renewal is in flight.
func (a *Account) Pending() bool { return a.pending }

// Complete applies the store's reply to the renewal in flight, at now. What the process spent
// while the request was in flight is taken from the new lease. A reply to a request other
// than the one in flight (reqID: its Request.ReqID) is ignored: that renewal already failed.
func (a *Account) Complete(now time.Time, reqID uint64, r Reply) {
	if !a.pending || reqID != a.reqID {
		return
	}
	now = a.advance(now)
	a.pending = false
	// A carried share is the old lease's (the store keeps it for the calls reserved ahead).
	oldRate := a.share
	if a.carryEnd.After(now) {
		oldRate = a.carryRate
	}
	newRate := r.Share
	if r.Carry > 0 {
		newRate = oldRate
	}
	// What the old lease refilled during the round trip, but no more than the new one would
	// have (the store may have switched at once), less what was spent meanwhile.
	carried := 0.0
	if a.sentMode == Leased {
		carried = min(a.pendingRefill, newRate*now.Sub(a.sentAt).Seconds()) - a.pendingSpent
	}
	a.seq, a.epoch, a.sentUnbacked, a.sentAllowance = r.Seq, r.Epoch, 0, 0
	a.sentSucc, a.sentThr = 0, 0
	a.rate, a.learned = r.Rate, r.Learned
	// The store has more to give, or the fleet is changing (processes coming back from a
	// fallback, joining, leaving: shares move), or this process is coming back itself.
	a.more = r.Pool >= a.spec.cost() || (r.Live > 0 && r.Share < 0.99*r.Rate/float64(r.Live)) ||
		r.Live != a.live || r.Lost || a.sentMode != Leased
	if r.Lost {
		// The store forgot the other processes; this one has not.
		a.live = max(a.live, r.Live)
	} else {
		a.live = r.Live
	}
	if r.Share <= 0 {
		// No share for now: ask again after a while, and leave the place to the processes that
		// hold the bucket (their renewals give this one's demand its share).
		a.mode, a.share, a.burst = NoLease, 0, 0
		a.level = min(r.Level+min(carried, 0), 0)
		a.retryAt = now.Add(a.pol.ttl() / 8)
		return
	}
	a.mode, a.share, a.burst = Leased, r.Share, r.Burst
	a.granted, a.expires = a.sentAt, a.sentAt.Add(time.Duration(r.TTL)*time.Microsecond)
	a.carryRate, a.carryEnd = 0, time.Time{}
	if r.Carry > 0 && a.sentMode == Leased {
		a.carryRate, a.carryEnd = oldRate, a.sentAt.Add(time.Duration(r.Carry)*time.Microsecond)
	}
	a.level = min(r.Level+carried, r.Burst)
	a.retryAt = time.Time{}
}

// Fail ends the renewal in flight without an answer (a timeout, a broken connection) at now.
// The store may or may not have applied it, so the process assumes the worst of both: the
// tokens it reported may be back in the pool (it spends none of them), and what it spent
// meanwhile, like what it had reported unbacked, is unbacked until the store has heard of it.
// Calls it had reserved ahead stay reserved: the old lease backs them if the request was lost,
// the new one carries them if it was applied. A leased account is left without a lease (its
// next call asks again, and the driver falls back if that fails too); an account in fallback
// stays in fallback. A failure of a request other than the one in flight is ignored.
func (a *Account) Fail(now time.Time, reqID uint64) {
	if !a.pending || reqID != a.reqID {
		return
	}
	now = a.advance(now)
	a.pending = false
	a.unbacked += a.sentUnbacked
	a.allowance += a.sentAllowance
	a.sentUnbacked, a.sentAllowance = 0, 0
	// The answers reported may not have reached the store: report them again. (If they did,
	// the store counts them twice: a slightly larger window, not a wrong fraction.)
	a.succ += a.sentSucc
	a.thr += a.sentThr
	a.sentSucc, a.sentThr = 0, 0
	if a.sentMode == Fallback {
		return
	}
	// Everything spent while the request was in flight is unbacked: it came from tokens the
	// store may have taken back.
	a.unbacked += a.pendingSpent
	a.mode, a.share, a.burst = NoLease, 0, 0
	a.level = min(a.level, 0)
}

// Fallback puts the account in fallback at now (the driver's breaker is open): it keeps a
// lease it still holds, and spends a local share once that ends.
func (a *Account) Fallback(now time.Time) {
	now = a.advance(now)
	if a.mode == NoLease && !a.pending {
		a.enterFallback(now)
	}
}

func (a *Account) enterFallback(now time.Time) {
	a.mode, a.share, a.burst = Fallback, 0, 0
	a.level = min(a.level, 0)
	a.stamp = now
}

// BucketState is a shared bucket as one process sees it.
type BucketState struct {
	Mode    Mode
	Rate    float64 // the fleet's rate in force (the rule's until the store says otherwise)
	Burst   float64 // the fleet bucket's burst at Rate
	Learned bool    // the fleet learned Rate from AWS's answers (below the rule's)
	Level   float64 // tokens this process holds (negative: reserved ahead)
	Local   float64 // its local bucket's capacity (the lease's burst, or the fallback's)
}

func bucketState(now time.Time, a *Account) BucketState {
	level, local := a.Level(now)
	rate, burst, learned := a.Rate()
	return BucketState{Mode: a.Mode(), Rate: rate, Burst: burst, Learned: learned, Level: level, Local: local}
}
