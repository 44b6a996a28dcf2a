package fleet

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// State is one shared bucket as the store keeps it: the fleet's token bucket, split into leases
// held by processes and a pool of tokens nobody holds. It is the pure model of what the Lua
// script does inside Redis (script.lua): [State.Apply] and the script make the same decisions
// with the same floating-point operations in the same order, which a test checks against a real
// redis-server. The simulator's modelled store runs this model in virtual time.
//
// Times are microseconds on the store's clock (Redis TIME), so every process of a fleet is
// judged by one clock.
//
// The invariant that makes the fleet safe: the pool plus every live lease's burst never exceeds
// the bucket's burst, and the pool refills only with the rate no lease holds. So the tokens the
// fleet can spend — the pool plus what each process holds in its local bucket — are at most
// what one token bucket of that rate and burst holds: the fleet together never sends more than
// AWS's one bucket admits. See the package documentation.
type State struct {
	Rate    float64 // tokens per second: the rule's (a learned rate is below it)
	Burst   float64 // tokens: the rule's (scaled with a learned rate)
	Pool    float64 // tokens no lease holds
	Stamp   int64   // µs: the time the pool was last brought up to date
	Created int64   // µs: when this incarnation of the bucket was created
	Epoch   string  // names the incarnation: a process that saw another one knows state was lost
	Idle    int64   // µs: the bucket is dropped when untouched this long (Redis: PEXPIRE)
	Clients map[string]*Record

	// The fleet's learned rate (learn.go). Learned is the rate in force when the fleet has
	// learned one below the rule's (0: the rule's rate). Armed (µs) is the first throttle
	// reported since the bucket last ran at its rule's rate, 0 once cut; Win starts the
	// measurement window of Succ and Thr, the successes and throttles reported in it; Cut is
	// the last cut (µs, 0: none); the growth curve started at Curve (µs) from Base towards
	// Plateau.
	Learned, Succ, Thr, Base, Plateau float64
	Armed, Win, Cut, Curve            int64

	// Since (µs) starts the bucket's latest recovery: its creation (a rebuild after a loss, or
	// a new bucket), or the first request from a process coming back from a fallback to a
	// bucket the store kept (a partition). For a few lease lengths after it (recordKeep),
	// Expect is the most processes the requests said share the bucket (Request.Fleet), and
	// those the bucket has not heard from since — no request since Since, no live lease —
	// count as claiming and holding an equal share of the rate and burst: they are still
	// spending their fallback shares, so the processes back first get no more than theirs,
	// and the pool does not refill with the rate the others still spend.
	Since  int64
	Expect int
}

// Record is one process's lease on a bucket, and what the store needs to answer a duplicate of
// its latest request.
type Record struct {
	Share   float64 // tokens per second the lease refills the process's local bucket with
	Burst   float64 // capacity of the process's local bucket under this lease
	Expires int64   // µs: the lease ends (share and burst go back to the bucket)
	Seq     uint64  // lease number: 1 for the process's first lease on the bucket, then +1
	ReqID   uint64  // the request that made this lease (a duplicate gets the same answer)
	Demand  float64 // tokens per second the process asked for
	Level   float64 // tokens the process held when the lease was granted
	Live    int     // processes sharing the bucket at the grant (see Reply.Live)
	Seen    int64   // µs: the process's latest request
	// Carry is the share of the process's previous lease, still held until CarryUntil (µs)
	// when the new share is smaller and the process had reserved tokens ahead: calls already
	// promised a time keep the pace they were promised. 0: none.
	Carry      float64
	CarryUntil int64
}

// shareAt is the rate the lease holds at t: its previous share while that is carried.
func (r *Record) shareAt(t int64) float64 {
	if t < r.CarryUntil {
		return r.Carry
	}
	return r.Share
}

// Request asks the store for a new lease on a bucket; it also settles the process's previous
// lease (the tokens it still holds, what it spent without a lease).
type Request struct {
	Client string // the process: unique in the fleet (host, pid, random suffix)
	ReqID  uint64 // unique among this process's requests; a duplicate gets the first answer
	Seq    uint64 // the lease the process holds (0: none)
	Epoch  string // the bucket incarnation the process last saw ("": none)
	// Demand is the tokens per second the process wants: its recent demand, refused calls
	// included. Shares follow demand.
	Demand float64
	// Level is what the process still holds of its current lease: unspent tokens (negative when
	// it has reserved tokens ahead). 0 when its lease has ended.
	Level float64
	// Unbacked is what the process spent since its last lease without one (fallback while the
	// store was unreachable). The store charges it to the pool, or to the process's new lease.
	Unbacked float64
	// Allowance is what the process's fallback share allowed: its part of the bucket's refill
	// while it could not reach the store. The store's pool counted that refill too (as the rate
	// no lease held), so Unbacked up to Allowance takes back from the pool what it holds, never
	// more (a store that lost the bucket rebuilt the pool without it: nothing); only the excess
	// is charged in full, to the pool or as a debt. Allowance > 0 also says the process comes
	// back from a fallback: a recovery starts (State.Since).
	Allowance float64
	// Overflow is the refill the process's local bucket could not hold since its last renewal
	// (the bucket was full): share it did not use, which the store puts back in the pool.
	Overflow float64
	// Fleet is how many processes this one believes share the bucket (Reply.Live of its last
	// lease; 0: it does not know). A bucket younger than a few lease lengths — rebuilt after a
	// loss — has not yet heard from every process (some are still falling back); it counts
	// the ones it has not heard from as claiming an equal share.
	Fleet    int
	Rate     float64 // the bucket's rate, tokens per second (> 0)
	Burst    float64 // the bucket's burst, tokens (> 0)
	MinBurst float64 // tokens one call takes: a lease whose burst is smaller is useless
	TTL      int64   // µs: how long the lease lasts
	Release  bool    // the process gives its lease back (it stops, or is idle)
	// Succ and Thr are the successes and throttles AWS answered to the process's calls on the
	// bucket since its last renewal; Adaptive, that the bucket's rate is learned from them
	// (learn.go). A process whose rule does not adapt makes the bucket forget its learning.
	Succ, Thr float64
	Adaptive  bool
}

// Reply is the store's answer: the new lease.
type Reply struct {
	Seq   uint64  // the new lease's number
	Epoch string  // the bucket incarnation
	Share float64 // tokens per second for the process's local bucket
	Burst float64 // the local bucket's capacity
	Level float64 // tokens the process holds now (its previous level, capped, plus a top-up)
	TTL   int64   // µs until the lease ends, from the store's now
	// Carry is how long (µs from the store's now) the process's previous, larger share goes
	// on refilling its local bucket before Share does: the time it takes to pay what it had
	// reserved ahead at that share. 0: Share applies at once.
	Carry int64
	// Live is the processes sharing the bucket: those holding a lease or that asked for one
	// within a lease length, this one included. A process falls back to 1/Live of the bucket.
	Live int
	Pool float64 // tokens left in the pool
	// Lost reports that the store had lost the bucket (a restart without persistence, a
	// failover to a stale replica): the bucket was rebuilt with an empty pool.
	Lost bool
	// Replayed reports a duplicate request: the lease granted to the first copy is returned.
	Replayed bool
	// Rate is the bucket's rate in force, tokens per second: the rule's, or the fleet's learned
	// rate (Learned) below it.
	Rate    float64
	Learned bool
}

// idleExpiry is how long a bucket nobody touches stays in the store: after it every lease has
// ended and the pool is full again, so dropping it is unobservable (a new bucket starts full).
func idleExpiry(ttl int64, rate, burst float64) int64 {
	return 4*ttl + int64(burst/rate*1e6) + 1e6
}

// recordKeep is how long a record outlives its lease (to answer late duplicates).
func recordKeep(ttl int64) int64 { return 4 * ttl }

// NewState returns the bucket a first request creates at now. A process that already held a
// lease (Seq or Epoch set) proves the store lost the bucket: it is rebuilt with an empty pool,
// since the fleet may have spent AWS's burst already.
func newState(now int64, q *Request) (*State, bool) {
	lost := q.Seq > 0 || q.Epoch != ""
	st := &State{Rate: q.Rate, Burst: q.Burst, Pool: q.Burst, Stamp: now, Created: now, Since: now,
		Epoch: strconv.FormatInt(now, 10), Idle: idleExpiry(q.TTL, q.Rate, q.Burst), Clients: map[string]*Record{}}
	if lost {
		st.Pool = 0
	}
	return st, lost
}

// Apply is one request at the store's time now on the bucket st (nil: absent), and returns the
// bucket as it is afterwards (a new one when st was nil or had expired) and the reply. It is
// the Go twin of script.lua.
func Apply(st *State, now int64, q Request) (*State, Reply) {
	lost := false
	if st != nil && now-st.Stamp > st.Idle {
		st = nil // the store would have expired the keys
	}
	if st == nil {
		st, lost = newState(now, &q)
	}
	now = max(now, st.Stamp)
	rec := st.Clients[q.Client]
	if rec != nil && rec.ReqID == q.ReqID {
		return st, Reply{Seq: rec.Seq, Epoch: st.Epoch, Share: rec.Share, Burst: rec.Burst,
			Level: rec.Level, TTL: max(rec.Expires-now, 0), Carry: max(rec.CarryUntil-now, 0), Live: rec.Live,
			Pool: st.Pool, Replayed: true, Rate: st.rate(), Learned: st.Learned > 0}
	}
	keep := recordKeep(q.TTL)
	st.advance(now, q.MinBurst, keep)
	st.Rate, st.Burst, st.Idle = q.Rate, q.Burst, idleExpiry(q.TTL, q.Rate, q.Burst)

	switch {
	case q.Epoch != "" && q.Epoch != st.Epoch:
		// The process saw another incarnation: this one was created after a loss. Its pool
		// may hold no more than what refilled since it was created empty.
		st.Pool = min(st.Pool, st.rate()*float64(now-st.Created)/1e6)
		lost = true
	case rec != nil && q.Seq > rec.Seq:
		// The process holds a lease newer than the store knows: the store went back in time
		// (restored from an old snapshot). Its pool is not to be trusted.
		st.Pool = min(st.Pool, 0)
		lost = true
	}

	if q.Allowance > 0 && now-st.Since >= keep {
		// A process comes back from a fallback (it spent a fallback share) to a bucket the
		// store kept: the others it last saw may still be falling back.
		st.Since, st.Expect = now, 0
	}
	if now-st.Since < keep {
		st.Expect = max(st.Expect, q.Fleet)
	}

	// Forget records long past their lease.
	for id, r := range st.Clients {
		if r.Expires+keep < now && id != q.Client {
			delete(st.Clients, id)
		}
	}

	// The other processes holding a live lease, and those that asked within a lease length
	// (with or without getting one): they all claim a share. Sums run in id order.
	var held, claimants []string
	for id, r := range st.Clients {
		if id == q.Client {
			continue
		}
		if r.Expires > now {
			held = append(held, id)
		}
		if r.Expires > now || r.Seen+q.TTL > now {
			claimants = append(claimants, id)
		}
	}
	slices.Sort(held)
	slices.Sort(claimants)

	// The fleet's demand teaches the learned rate whether it is demand-limited.
	demand := 0.0
	for _, id := range claimants {
		demand += st.Clients[id].Demand
	}
	if !q.Release {
		demand += q.Demand
	}
	st.learn(now, &q, demand/demandHeadroom)
	rate, bucketBurst := st.rate(), st.burst(q.MinBurst)

	sharesHeld, burstHeld := 0.0, 0.0
	for _, id := range held {
		sharesHeld += st.Clients[id].shareAt(now)
		burstHeld += st.Clients[id].Burst
	}
	if ph := st.unheard(now, keep, st.heard(now, q.Client)+1); ph > 0 {
		sharesHeld += ph * rate / float64(st.Expect)
		burstHeld += ph * bucketBurst / float64(st.Expect)
	}

	share, burst := 0.0, 0.0
	if !q.Release {
		claims := make([]claim, 0, len(claimants)+1)
		for _, id := range claimants {
			claims = append(claims, claim{id, st.Clients[id].Demand})
		}
		if now-st.Since < keep {
			for len(claims) < q.Fleet-1 {
				claims = append(claims, claim{"", rate}) // a process not heard from yet
			}
		}
		claims = append(claims, claim{q.Client, q.Demand})
		fair := fairShares(rate, claims)[len(claims)-1]
		share = max(min(fair, rate-sharesHeld), 0)
		if share < rate*1e-9 {
			// Rounding left of a rate the others hold (100 - 7·(100/7)): no share. A lease of
			// 1e-14 tokens per second would refill a call in millions of years.
			share = 0
		}
		if share > 0 {
			burst = min(max(bucketBurst*share/rate, q.MinBurst), max(bucketBurst-burstHeld, 0))
			if burst < q.MinBurst {
				share, burst = 0, 0
			}
		}
	}

	// Settle the previous lease: tokens above the new burst, and the share the process could
	// not use, go back to the pool.
	level := min(q.Level, burst)
	st.Pool += q.Level - level + max(q.Overflow, 0)
	// Spending without a lease. What the process's fallback share allowed (Allowance) was
	// AWS's refill while the store could not be reached; a store that kept the bucket counted
	// that refill in its pool too (the rate no lease held), so the pool gives it back, as far
	// as it holds it — never as a debt: the pool could not hold more than its burst, and AWS's
	// bucket refilled what the share spent. A store that lost the bucket rebuilt the pool
	// without it. What went beyond the share is paid from the pool if it can, else it is the
	// process's debt.
	excess := max(q.Unbacked-q.Allowance, 0)
	if within := q.Unbacked - excess; !lost && within > 0 {
		st.Pool -= min(within, max(st.Pool, 0))
	}
	if excess > 0 {
		pay := min(excess, max(st.Pool, 0))
		st.Pool -= pay
		level -= excess - pay
	}
	if share == 0 {
		// No lease: a debt the process cannot carry goes to the pool.
		st.Pool += level
		level = 0
	}
	// Top the new lease up from the pool.
	if level < burst && st.Pool > 0 {
		top := min(st.Pool, burst-level)
		st.Pool -= top
		level += top
	}
	st.Pool = min(st.Pool, bucketBurst-burstHeld-burst)

	live := len(claimants) + 1
	expires := now
	if share > 0 {
		// A first lease is short, and so is the first after the store lost the bucket: the
		// process's demand has little history, or the store has forgotten the others, who
		// may be coming back; it renews soon with a better picture.
		ttl := q.TTL
		if q.Seq == 0 || lost {
			ttl = q.TTL / 4
		}
		expires = now + ttl
	}
	// A smaller share must not slow calls the process already promised a time at its old
	// share: the old share goes on until what it had reserved ahead is paid.
	carry, carryUntil := 0.0, int64(0)
	if share > 0 && rec != nil && rec.Expires > now {
		old, limit := rec.shareAt(now), rec.Expires
		if now < rec.CarryUntil {
			limit = rec.CarryUntil // a carried share is never carried further
		}
		if debt := max(-q.Level, 0); old > share && debt > 0 {
			carryUntil = min(now+int64(debt/old*1e6), limit)
			if carryUntil > now {
				carry = old
			} else {
				carryUntil = 0
			}
		}
	}
	seq := q.Seq + 1
	if rec != nil && rec.Seq >= seq {
		seq = rec.Seq + 1
	}
	st.Clients[q.Client] = &Record{Share: share, Burst: burst, Expires: expires, Seq: seq,
		ReqID: q.ReqID, Demand: q.Demand, Level: level, Live: live, Seen: now, Carry: carry, CarryUntil: carryUntil}
	return st, Reply{Seq: seq, Epoch: st.Epoch, Share: share, Burst: burst, Level: level,
		TTL: expires - now, Carry: max(carryUntil-now, 0), Live: live, Pool: st.Pool, Lost: lost,
		Rate: rate, Learned: st.Learned > 0}
}

// advance brings the pool up to now: it refills with the rate no live lease holds, up to the
// burst no live lease holds, step by step as carried shares and leases end. The rate and burst
// are those in force (learn.go); minBurst is one call.
func (st *State) advance(now int64, minBurst float64, keep int64) {
	t := st.Stamp
	if now <= t {
		return
	}
	type change struct {
		at   int64
		id   string
		ends bool // the lease ends (else: its carried share ends)
	}
	var live []string
	var changes []change
	for id, r := range st.Clients {
		if r.Expires > t {
			live = append(live, id)
			if r.CarryUntil > t && r.CarryUntil <= now {
				changes = append(changes, change{r.CarryUntil, id, false})
			}
			if r.Expires <= now {
				changes = append(changes, change{r.Expires, id, true})
			}
		}
	}
	slices.Sort(live)
	slices.SortFunc(changes, func(a, b change) int {
		switch {
		case a.at != b.at:
			return cmp.Compare(a.at, b.at)
		case a.id != b.id:
			return strings.Compare(a.id, b.id)
		case a.ends == b.ends:
			return 0
		case b.ends:
			return -1
		}
		return 1
	})
	sharesHeld, burstHeld := 0.0, 0.0
	for _, id := range live {
		sharesHeld += st.Clients[id].shareAt(t)
		burstHeld += st.Clients[id].Burst
	}
	rate, bucketBurst := st.rate(), st.burst(minBurst)
	if ph := st.unheard(t, keep, st.heard(t, "")); ph > 0 {
		sharesHeld += ph * rate / float64(st.Expect)
		burstHeld += ph * bucketBurst / float64(st.Expect)
	}
	for _, c := range changes {
		r := st.Clients[c.id]
		st.Pool = refill(st.Pool, (rate-sharesHeld)*float64(c.at-t)/1e6, bucketBurst-burstHeld)
		t = c.at
		if c.ends {
			sharesHeld -= r.Share
			burstHeld -= r.Burst
		} else {
			sharesHeld -= r.Carry - r.Share
		}
	}
	st.Pool = refill(st.Pool, (rate-sharesHeld)*float64(now-t)/1e6, bucketBurst-burstHeld)
	st.Stamp = now
}

// unheard is how many of the processes a recovering bucket expects (Expect) it has not heard
// from at t, when it has heard from heard: they count as holding an equal share each.
func (st *State) unheard(t, keep int64, heard int) float64 {
	if t-st.Since >= keep || st.Expect <= heard {
		return 0
	}
	return float64(st.Expect - heard)
}

// heard counts the processes but skip that the bucket has heard from since its recovery began
// (Since), or that hold a lease at t.
func (st *State) heard(t int64, skip string) int {
	n := 0
	for id, r := range st.Clients {
		if id != skip && (r.Seen >= st.Since || r.Expires > t) {
			n++
		}
	}
	return n
}

// refill adds add tokens to pool p, up to capacity c. A pool already above c (its capacity
// shrank) gets nothing but keeps its tokens; a negative add (the rate fell below what leases
// hold) drains it.
func refill(p, add, c float64) float64 {
	if add <= 0 {
		return p + add
	}
	return min(p+add, max(c, p))
}
