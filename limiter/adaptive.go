package limiter

import (
	"math"
	"time"
)

// The adaptive rate of one bucket: how it learns from throttles and successes. See the package
// documentation ("Adaptive rates") for the model and the reasons for these values. They were
// chosen on the simulator's ec2-fleet, unknown-limit, noisy-neighbour and s3-hot-prefix
// scenarios, over several seeds.
const (
	// maxCutFactor bounds every cut: the new rate is at most maxCutFactor times the rate the
	// bucket was sending at, even when the measured share is higher (a lone throttle in a long
	// window). A cut of at least 20% leaves the fleet's other processes room before the next
	// probe.
	maxCutFactor = 0.8
	// reactionCalls, minReaction and maxReaction give the reaction window after a cut (or the
	// first throttle): as long as reactionCalls calls take at the bucket's rate, within
	// [minReaction, maxReaction]. Throttles inside it are the same overshoot (calls sent
	// before the cut, or before the rest of the fleet cut) and cause no further cut; they are
	// counted in the measurement.
	reactionCalls = 4.0
	minReaction   = 500 * time.Millisecond
	maxReaction   = 30 * time.Second
	// maxWindow bounds the measurement window: older successes and throttles are discounted by
	// halving the window when it grows longer, so that the rate measured is the recent one.
	maxWindow = 10 * time.Second
	// minSpan is the shortest window a rate is measured over, in seconds (a reaction window).
	minSpan = 0.5
	// recoveryTime is how long the growth curve takes to climb back from a cut to the
	// measured share (concave: fast at first).
	recoveryTime = 20 * time.Second
	// growthPeriod is the demand-limited time in which the growth curve, once back at the
	// measured share, doubles it: rate = share·(1 + (τ/growthPeriod)³). Cubic: gentle near
	// the share (+0.1% after 12 s, +3.7% after 40 s), faster far from it (+100% after two
	// minutes), to find capacity other processes left.
	growthPeriod = 2 * time.Minute
	// plateauMargin puts the plateau a cut recovers to a little below the measured share,
	// where the fleet was throttled: probing resumes from just under it.
	plateauMargin = 0.95
	// firstPlateau puts the plateau of a bucket's first cut above the share it measured: that
	// share comes from the few calls of one reaction window, and an estimate too low would
	// leave capacity unused until growth finds it; the next throttle measures over a longer
	// window.
	firstPlateau = 1.25
	// minOvershoot is the share of throttled calls (since the first throttle) that makes a
	// bucket never cut before take its first cut: below it, the throttles are network jitter
	// around a rate that is the server's own (a few in ten thousand at 5,500 GET/s), and
	// cutting would only lose goodput. An overshoot by another process is tens of percent.
	minOvershoot = 0.01
	// minRate is the lowest rate a cut goes to: one call a minute.
	minRate = 1.0 / 60
	// maxPause caps a Retry-After hint's pause.
	maxPause = 20 * time.Second
	// countLimit is when the window's counters are halved.
	countLimit = 1 << 15
)

// rateChange is what one feedback did to a bucket's rate.
type rateChange struct {
	from, to float64 // tokens per second (+Inf: unlimited)
	burst    float64 // the burst at the new rate
	kind     changeKind
}

type changeKind uint8

const (
	noChange changeKind = iota
	changeCut
	changeGrowth
)

// reacted reports whether the reaction window that began at the last cut (or the first
// throttle) is over at t, at rate: as long as reactionCalls calls take at that rate, within
// [minReaction, maxReaction].
func (b *bucket) reacted(t int64, rate float64) bool {
	w := float64(minReaction)
	if rate > 0 && !math.IsInf(rate, 1) {
		w = max(w, reactionCalls/rate*1e9)
	}
	return t-b.cutTicks() >= int64(min(w, float64(maxReaction)))
}

// slide keeps the measurement window no longer than maxWindow and its counters within their
// bits, scaling the counts with the window so that their rate is unchanged.
func (b *bucket) slide(t int64) {
	if b.succ == 0 && b.thr == 0 && b.flags&(flagCut|flagArmed) == 0 {
		// Nothing measured yet: the window starts with the first feedback.
		b.winAt = t
		return
	}
	span := t - b.winAt
	full := int(b.succ)+int(b.thr) >= countLimit || b.thr == math.MaxUint8
	if span <= int64(maxWindow) && !full {
		return
	}
	keep := min(span, int64(maxWindow)) / 2
	if full {
		keep = span / 2
	}
	f := float64(keep) / float64(max(span, 1))
	moved := float32(seconds(span - keep))
	b.winAt = t - keep
	b.succ = uint16(float64(b.succ) * f)
	b.thr = uint8(float64(b.thr) * f)
	b.cutAgo += moved
	b.curveOff -= moved
}

// cutTicks returns when the last cut happened (meaningful once flagCut is set).
func (b *bucket) cutTicks() int64 {
	return b.winAt - int64(float64(b.cutAgo)*1e9)
}

// throttled learns from a throttle at t: AWS refused a call this bucket admitted. The first
// throttle of a reaction window cuts the rate (cut); later throttles of the same window are
// counted only. pause (>0) is the server's Retry-After: no call of this bucket is admitted
// before t+pause.
func (b *bucket) throttled(t int64, r *crule, pause int64) rateChange {
	rate, burst := b.rateIn(r), b.burstIn(r)
	t = b.advance(t, rate, burst)
	b.slide(t)
	if b.thr < math.MaxUint8 {
		b.thr++
	}
	ch := rateChange{from: rate, to: rate, burst: burst}
	switch {
	case b.flags&(flagCut|flagArmed) == 0:
		// The first throttle arms the bucket: AWS's bucket is empty now, so what gets
		// through from now on is this process's share. The measurement starts here, and
		// the first throttle after the reaction window cuts straight to the share. (A lone
		// throttle — network jitter can make a client that sends exactly at the server's
		// rate arrive early now and then — cuts nothing.) Our bucket empties, as AWS's did.
		// The rate it was sending at until now is kept (in plateau) for a quick cut.
		sent := rate
		if calls := int(b.succ) + int(b.thr) - 1; calls > 0 && b.tokens >= r.costF { // (this throttle is counted)
			// Not demand-limited (a limited bucket sends at its rate): what it sent lately.
			sent = min(rate, float64(calls)/max(seconds(t-b.winAt), minSpan))
		}
		b.flags |= flagArmed
		b.winAt, b.succ, b.thr, b.cutAgo = t, 0, 1, 0
		b.plateau = float32(sent)
		b.tokens = min(b.tokens, 0)
	case b.flags&flagCut == 0 && float64(b.thr) < minOvershoot*float64(int(b.succ)+int(b.thr)):
		// Armed, but a few throttles among many successes since the first: jitter at the
		// server's own rate, not an overshoot. Nothing to cut.
	case b.flags&(flagArmed|flagQuick) == flagArmed && !b.reacted(t, rate):
		// A second throttle inside the reaction window: an overshoot, not jitter. Cut at
		// once by maxCutFactor from the rate the bucket was sending at, recovering to it in
		// recoveryTime; the measured cut follows when the reaction window is over. (Calls
		// reserved ahead keep their turns: this cut voids nothing.)
		sent := float64(b.plateau)
		next := max(min(rate, sent)*maxCutFactor, min(minRate, r.rate))
		if next < rate {
			b.rate, b.base, b.plateau = float32(next), float32(next), float32(min(rate, sent))
			b.curveOff = float32(seconds(t - b.winAt))
			b.tokens = min(b.tokens, 0)
			b.flags |= flagQuick | flagCut
			ch = rateChange{from: rate, to: b.rateIn(r), burst: b.burstIn(r), kind: changeCut}
		}
	case b.reacted(t, rate):
		ch = b.cut(t, r, rate)
	}
	if pause > 0 {
		pause = min(pause, int64(maxPause))
		// The next call of one token is due at t+pause: a pause is a debt.
		b.tokens = min(b.tokens, r.costF-seconds(pause)*b.rateIn(r))
	}
	return ch
}

// cut lowers the rate at t (the bucket's time), from rate, to the share of AWS's capacity the
// bucket got over the measurement window — which began when AWS started refusing (the first
// throttle, or the previous cut), so what got through is what this process gets while the
// server's bucket is empty — and at most maxCutFactor times the rate it was sending at. The
// growth curve then recovers to the share (the plateau) in recoveryTime and probes beyond it.
//
// The share is the rate sent times the fraction of calls admitted, (successes+1)/(calls+1):
// counted, it is not fooled by calls that were never sent (a deadline refused them: the
// bucket was sending at its rate, whatever the window counted), and one more success than
// seen keeps a window of throttles only from reading as a share of zero.
func (b *bucket) cut(t int64, r *crule, rate float64) rateChange {
	calls := int(b.succ) + int(b.thr)
	eff := min(rate, float64(calls)/max(seconds(t-b.winAt), minSpan))
	if b.tokens < 0 {
		// Calls are queued: the bucket was sending at its rate.
		eff = rate
	}
	share := eff * float64(b.succ+1) / float64(calls+1)
	floor := min(minRate, r.rate)
	base := max(min(share, eff*maxCutFactor), floor)
	plateau := max(share*plateauMargin, floor)
	if b.flags&flagCut == 0 {
		plateau = max(share*firstPlateau, floor)
	}
	from := rate
	// The server's bucket is empty (it just throttled): so is ours. Tokens reserved ahead at
	// the old rate are forgiven: those reservations take them again when confirmed
	// (Reservation.Confirm).
	b.tokens = 0
	b.rate, b.base, b.plateau = float32(base), float32(base), float32(plateau)
	b.winAt, b.succ, b.thr = t, 0, 0
	b.cutAgo, b.curveOff = 0, 0
	b.flags = b.flags&^(flagDry|flagArmed|flagQuick) | flagCut
	return rateChange{from: from, to: b.rateIn(r), burst: b.burstIn(r), kind: changeCut}
}

// curve returns the growth curve's rate tau seconds after it started: a concave recovery from
// base to plateau in recoveryTime (when base is below it), then a convex probe beyond it,
// doubling the plateau after growthPeriod more.
func (b *bucket) curve(tau float64) float64 {
	base, plateau := float64(b.base), float64(b.plateau)
	if base < plateau {
		k := recoveryTime.Seconds()
		if tau < k {
			x := 1 - tau/k
			return plateau - (plateau-base)*x*x*x
		}
		tau -= k
	}
	x := tau / growthPeriod.Seconds()
	return plateau * (1 + x*x*x)
}

// succeeded learns from a success at t. While the bucket is demand-limited (an admission found
// it dry since the previous success) its rate follows the growth curve up to the rule's Rate;
// otherwise the curve restarts from the current rate, so a rate nobody uses does not grow.
func (b *bucket) succeeded(t int64, r *crule) rateChange {
	rate, burst := b.rateIn(r), b.burstIn(r)
	t = b.advance(t, rate, burst)
	b.slide(t)
	if b.succ < math.MaxUint16 {
		b.succ++
	}
	ch := rateChange{from: rate, to: rate, burst: burst}
	if b.flags&flagCut == 0 || rate >= r.rate {
		return ch
	}
	if b.flags&flagDry == 0 && b.tokens >= r.costF {
		// Not demand-limited: no admission found the bucket dry since the last success, and
		// no call is waiting for tokens now.
		b.base, b.plateau = b.rate, b.rate
		b.curveOff = float32(seconds(t - b.winAt))
		return ch
	}
	b.flags &^= flagDry
	next := min(b.curve(seconds(t-b.winAt)-float64(b.curveOff)), r.rate)
	if next <= rate {
		return ch
	}
	if next >= r.rate {
		b.rate = r.rate32
	} else {
		b.rate = float32(next)
	}
	ch.to, ch.burst = b.rateIn(r), b.burstIn(r)
	if rateStep(ch.from) != rateStep(ch.to) {
		ch.kind = changeGrowth
	}
	return ch
}

// rateStep quantises a rate into steps of about 6% (the float32 exponent and the top four
// mantissa bits): growth is reported when it crosses a step, not at every success.
func rateStep(r float64) uint32 {
	return math.Float32bits(float32(r)) >> 19
}
