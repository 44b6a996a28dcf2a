package limiter

import (
	"math"
	"time"
)

// The adaptive rate of one bucket: how it learns from throttles and successes. See the package
// documentation ("Adaptive rates") for the model and the reasons for these values. They were
// chosen on the simulator's ec2-fleet, unknown-limit, noisy-neighbour and s3-hot-prefix
// scenarios, over seeds 1 to 10.
const (
	// quickCutFactor is the quick cut's: at an overshoot inside the first reaction window the
	// rate drops to quickCutFactor times the rate the bucket was sending at, and recovers to
	// it in recoveryTime unless the measured cut follows.
	quickCutFactor = 0.8
	// maxCutFactor bounds every measured cut: the new rate is at most maxCutFactor times the
	// rate the bucket was sending at, even when the measured share is higher (a lone throttle
	// in a long window). It is the step by which a fleet that is just over the server's rate
	// steps back under it: small, so that the server's bucket stays nearly empty (with cuts of
	// 20%, the four processes of the unknown-limit scenario left their 10/s bucket idle long
	// enough to serve up to 15 calls fewer than the SDK's adaptive mode), and large enough
	// that one cut per process per minute or so holds the fleet's growth.
	maxCutFactor = 0.9
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
	// recoveryTime is how long the growth curve takes to climb back (concave: fast at first)
	// from a quick cut to the rate sent before it, or from a first measured cut to the share
	// it measured.
	recoveryTime = 20 * time.Second
	// growthPerSecond and growthPeriod shape the growth from a cut while the bucket is
	// demand-limited, τ seconds after it: rate = cut·(1 + growthPerSecond·τ + (τ/growthPeriod)³).
	// Near the cut the growth is slow and even, 0.2% of the rate a second (+12% a minute): the
	// fleet's processes creep back over the server's rate one at a time, each is throttled
	// about once a minute (every 50 s: a 10% cut undone at 0.2% a second), and the server's
	// bucket stays close to empty. The cubic term takes over after a few minutes without a
	// throttle (it adds 6% after two minutes; with the even growth the rate doubles after
	// four), to find capacity the server gained or other processes left.
	growthPerSecond = 0.002
	growthPeriod    = 5 * time.Minute
	// minOvershoot and overshootScore tell an overshoot from jitter before a bucket's first
	// cut: throttles that are at least minOvershoot of the calls since the first throttle, or
	// that come close together (a score of overshootScore: three within about a reaction
	// window), are an overshoot. Below that they are network jitter around a rate that is the
	// server's own (a few in ten thousand at 5,500 GET/s, seconds apart), and cutting would
	// only lose goodput. An overshoot by other processes throttles tens of percent.
	minOvershoot   = 0.01
	overshootScore = 2.5
	// capCalls and capShare decide when the first throttle caps the bucket at the rate it was
	// sending at: when that rate was measured over at least capCalls calls and is under
	// capShare of the rule's Rate (a bucket at the rule's own rate meets the server's jitter).
	capCalls = 20
	capShare = 0.95
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
// throttle arms the bucket (and caps it at the rate it was sending); an overshoot then cuts the
// rate, at most once per reaction window; other throttles are counted only. pause (>0) is the
// server's Retry-After: no call of this bucket is admitted before t+pause.
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
		ch = b.arm(t, r, rate)
	case b.flags&flagCut == 0 && !b.overshoot(t, rate):
		// Armed, but throttles few and far between among many successes: jitter at the
		// server's own rate, not an overshoot. Nothing to cut.
	case b.flags&(flagArmed|flagQuick) == flagArmed && !b.reacted(t, rate):
		// An overshoot inside the first reaction window. Cut at once by quickCutFactor from
		// the rate the bucket was sending at, recovering to it in recoveryTime; the measured
		// cut follows if AWS keeps throttling after the reaction window. (Calls reserved
		// ahead keep their turns: this cut voids nothing.)
		sent := float64(b.plateau)
		next := max(min(rate, sent)*quickCutFactor, min(minRate, r.rate))
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

// arm learns from a bucket's first throttle at t, at rate: AWS's bucket is empty now, so what
// gets through from now on is this process's share. The measurement starts here, and a
// throttle after the reaction window cuts to the share measured. Our bucket empties, as AWS's
// did. The rate it was sending at is kept (in plateau) for a quick cut; a bucket that was
// sending under its rule's Rate is capped at that rate (AWS refused a call at it: demand that
// grows past it is not sent on faith, it waits for the growth curve, as after a cut). A bucket
// at its rule's own rate is not capped: a lone throttle there is the server's jitter.
func (b *bucket) arm(t int64, r *crule, rate float64) rateChange {
	ch := rateChange{from: rate, to: rate, burst: b.burstIn(r)}
	sent := rate
	calls := int(b.succ) + int(b.thr) - 1 // (this throttle is counted)
	if calls > 0 && b.tokens >= r.costF {
		// Not demand-limited (a limited bucket sends at its rate): what it sent lately.
		sent = min(rate, float64(calls)/max(seconds(t-b.winAt), minSpan))
	}
	b.flags |= flagArmed
	b.winAt, b.succ, b.thr, b.cutAgo = t, 0, 1, 0
	b.plateau = float32(sent)
	b.base, b.curveOff = 1, 0 // the overshoot score: one throttle, now
	b.tokens = min(b.tokens, 0)
	if calls >= capCalls && sent < capShare*rate {
		next := max(sent, min(minRate, r.rate))
		b.rate, b.base, b.plateau = float32(next), float32(next), float32(next)
		b.flags |= flagCut
		ch = rateChange{from: rate, to: b.rateIn(r), burst: b.burstIn(r), kind: changeCut}
	}
	return ch
}

// overshoot updates an armed bucket's throttle score at t (in base: throttles decayed with the
// reaction window as time constant; curveOff holds the last throttle's time, seconds after
// winAt) and reports whether the throttles since the first are an overshoot, not jitter.
func (b *bucket) overshoot(t int64, rate float64) bool {
	w := float64(minReaction)
	if rate > 0 && !math.IsInf(rate, 1) {
		w = max(w, reactionCalls/rate*1e9)
	}
	w = min(w, float64(maxReaction)) * 1e-9
	now := seconds(t - b.winAt)
	score := float64(b.base)*math.Exp(-(now-float64(b.curveOff))/w) + 1
	b.base, b.curveOff = float32(score), float32(now)
	return score >= overshootScore || float64(b.thr) >= minOvershoot*float64(int(b.succ)+int(b.thr))
}

// cut lowers the rate at t (the bucket's time), from rate, to the share of AWS's capacity the
// bucket got over the measurement window — which began when AWS started refusing (the first
// throttle, or the previous cut), so what got through is what this process gets while the
// server's bucket is empty — and at most maxCutFactor times the rate it was sending at. The
// growth curve starts from there (a bucket's first measured cut recovers to the share it
// measured in recoveryTime, when the cut went below it).
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
	plateau := base
	if b.flags&flagCut == 0 {
		plateau = max(share, floor)
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
// base to plateau in recoveryTime (when base is below it), then slow, even growth from the
// plateau that turns convex after a few minutes (see growthPerSecond).
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
	return plateau * (1 + growthPerSecond*tau + x*x*x)
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
