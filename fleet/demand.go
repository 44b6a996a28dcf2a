package fleet

import (
	"math"
	"time"
)

// demand estimates a process's recent demand on a bucket in tokens per second: every token a
// call asks for counts, whether it was admitted, delayed or refused, so a starved process
// reports what it wants, not what it got. It is an exponentially decaying count with time
// constant tau: a steady demand of λ tokens/s reads λ after a few tau.
//
// A young estimate is corrected for the short history it has seen (as Adam corrects its
// moments): λ·tau·(1−e^(−age/tau)) is what a steady λ has accumulated at age, so a process's
// first lease already asks for its real demand instead of a fraction of it.
type demand struct {
	acc   float64
	stamp time.Time
	first time.Time
}

// add counts n tokens asked for at now.
func (d *demand) add(now time.Time, n float64, tau time.Duration) {
	d.decay(now, tau)
	d.acc += n
}

// rate is the estimate at now, tokens per second.
func (d *demand) rate(now time.Time, tau time.Duration) float64 {
	d.decay(now, tau)
	age := max(now.Sub(d.first), tau/16)
	return d.acc / (tau.Seconds() * -math.Expm1(-age.Seconds()/tau.Seconds()))
}

func (d *demand) decay(now time.Time, tau time.Duration) {
	if d.stamp.IsZero() {
		d.stamp, d.first = now, now
		return
	}
	if dt := now.Sub(d.stamp); dt > 0 {
		d.acc *= math.Exp(-dt.Seconds() / tau.Seconds())
		d.stamp = now
	}
}
