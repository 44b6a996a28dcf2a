package fleet

// The fleet's learned rate: one rate per shared bucket, kept in the store and changed only there.
//
// A published quota is a ceiling: other tools of the account spend the same bucket, or AWS
// grants less than it publishes. A limiter alone learns its process's share from its own
// throttles (limiter/doc.go, "Adaptive rates"). In a fleet that would give twenty rates for one
// bucket, each learned from a twentieth of the answers, cut twenty times for one overshoot and
// grown twenty times. Instead, every process reports the answers its calls got (Request.Succ,
// Request.Thr) at its next renewal — a throttle brings the renewal forward — and the store
// learns one rate from the whole fleet's counts, with the limiter's model:
//
//   - the first throttle reported arms the bucket: AWS's bucket is empty, and what gets through
//     from then on is the fleet's share; a measurement window starts;
//   - once a reaction window has passed (a lease length, or four calls at the rate, at most
//     30 s: long enough for every process to have renewed, reported and taken the new share),
//     the next report with throttles cuts the rate to the measured share — the rate the fleet
//     sent times the fraction admitted, (successes+1)/(calls+1), over the window — and by at
//     least 20%, unless the throttles are under 1% of the calls since the first (network
//     jitter around the right rate) and the bucket has never been cut. A cut empties the pool
//     (AWS's bucket is empty);
//   - while the fleet's demand reaches the rate, the rate grows along the limiter's curve:
//     back to just below the measured share (125% of it after the first cut, whose share is
//     measured over one window only) in 20 s, concave, then probing beyond, doubling after two
//     more minutes; when demand is below the rate, the curve restarts from the rate, so a rate
//     nobody uses does not grow. It never exceeds the rule's rate; reaching it forgets the
//     learning.
//
// Why it does not oscillate: there is one rate and one clock. Reports from many processes
// about one overshoot fall in one reaction window and make one cut, measured on all their
// counts; growth is a function of the store's time since the cut, not a step per process, so
// n processes grow it once. A process's share is its max-min part of the rate in force, so a
// cut lowers every share at the next renewal of each, and leases granted before a cut are
// honoured until they end (the pool goes negative meanwhile: nobody is granted more until the
// fleet is back under the new rate).

// Learning parameters: the limiter's (limiter/adaptive.go) where they apply to a fleet.
const (
	learnMinOvershoot  = 0.01  // throttles under 1% of the calls measured are jitter
	learnMargin        = 0.95  // a cut goes to just below the measured share
	learnRecovery      = 20e6  // µs to recover from a cut to its plateau (the curve's shape)
	learnGrowthPeriod  = 120e6 // µs of demand after the plateau to double it
	learnMaxWindow     = 10e6  // µs: counts older than this are discounted
	learnReactionCalls = 4.0   // a reaction window lasts at least four calls at the rate
	learnMaxReaction   = 30e6  // µs: and at most this
	learnMinRate       = 1 / 60.0
)

// rate is the bucket's rate in force: the learned rate, or the rule's.
func (st *State) rate() float64 {
	if st.Learned > 0 {
		return min(st.Learned, st.Rate)
	}
	return st.Rate
}

// burst is the bucket's burst at its rate in force: the rule's, scaled with a learned rate (as
// the limiter scales it), and at least minBurst (one call).
func (st *State) burst(minBurst float64) float64 {
	if st.Learned > 0 {
		return max(st.Burst*st.rate()/st.Rate, minBurst)
	}
	return st.Burst
}

// forget drops what the bucket has learned: it runs at its rule's rate again.
func (st *State) forget() {
	st.Learned, st.Armed, st.Win, st.Succ, st.Thr = 0, 0, 0, 0, 0
	st.Cut, st.Base, st.Plateau, st.Curve = 0, 0, 0, 0
}

// learn folds q's counts into the bucket's learned rate at now (after advance), with demand
// the fleet's demand in tokens per second (every claimant's, headroom taken off). It is the
// twin of the script's learning section.
func (st *State) learn(now int64, q *Request, demand float64) {
	if !q.Adaptive {
		st.forget()
		return
	}
	if st.Learned == 0 && st.Armed == 0 {
		if q.Thr > 0 {
			// The first throttle: AWS's bucket is empty. The counts reported with it are
			// from before; the window starts now.
			st.Armed, st.Win, st.Succ, st.Thr = now, now, 0, 0
		}
		return
	}
	rate := st.rate()
	react := min(max(q.TTL, int64(learnReactionCalls/rate*1e6)), int64(learnMaxReaction))
	if now < st.Win {
		// After a cut, the answers to calls sent at the old rate are still coming in: the
		// measurement starts once they are all in.
		st.growth(now, rate, demand)
		return
	}
	st.Succ += q.Succ
	st.Thr += q.Thr
	if span := now - st.Win; span > learnMaxWindow {
		keep := int64(learnMaxWindow / 2)
		f := float64(keep) / float64(span)
		st.Succ *= f
		st.Thr *= f
		st.Win = now - keep
	}
	window := react
	if st.Cut == 0 {
		window = react / 2 // the first measurement: the fleet's rate has not changed meanwhile
	}
	if q.Thr > 0 && now-st.Win >= window && (st.Cut > 0 || st.Thr >= learnMinOvershoot*(st.Succ+st.Thr)) {
		eff := min(rate, demand)
		share := eff * (st.Succ + 1) / (st.Succ + st.Thr + 1)
		base := max(share*learnMargin, min(learnMinRate, st.Rate))
		st.Learned, st.Base, st.Plateau = base, base, base
		// Leases granted before the cut run at the old rate for up to a lease length, and
		// their answers are reported up to half a lease later: the next measurement starts
		// after both.
		st.Curve, st.Cut, st.Win, st.Armed = now, now, now+react+react/2, 0
		st.Succ, st.Thr = 0, 0
		st.Pool = min(st.Pool, 0)
		if st.Learned >= st.Rate {
			st.forget()
		}
		return
	}
	st.growth(now, rate, demand)
}

// growth moves a learned rate along its curve at now while the fleet's demand reaches it, and
// restarts the curve from it otherwise.
func (st *State) growth(now int64, rate, demand float64) {
	if st.Learned == 0 {
		return
	}
	if demand >= rate {
		next := st.curve(now - st.Curve)
		switch {
		case next >= st.Rate:
			st.forget()
		case next > st.Learned:
			st.Learned = next
		}
		return
	}
	// Not demand-limited: the curve restarts from the rate in force.
	st.Base, st.Plateau, st.Curve = rate, rate, now
}

// curve is the growth curve's rate tau µs after it started: a concave recovery from Base to
// Plateau in learnRecovery (when Base is below it), then a convex probe beyond, doubling the
// plateau after learnGrowthPeriod more. (Explicit conversions keep the compiler from fusing a
// multiply and an add, which the script cannot do.)
func (st *State) curve(tau int64) float64 {
	base, plateau := st.Base, st.Plateau
	t := float64(tau)
	if base < plateau {
		if t < learnRecovery {
			x := 1 - t/learnRecovery
			return plateau - float64(float64(float64(plateau-base)*x)*x)*x
		}
		t -= learnRecovery
	}
	x := t / learnGrowthPeriod
	return plateau * (1 + float64(float64(x*x)*x))
}
