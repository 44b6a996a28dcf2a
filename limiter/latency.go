package limiter

import (
	"math"
	"sync/atomic"
	"time"
)

// latency estimates how long an API's attempts take from being sent to their answer, from the
// latencies reported in [Feedback]: RFC 6298's estimator of a TCP retransmission timeout — a
// smoothed latency SRTT (gain 1/8) and its mean deviation RTTVAR (gain 1/4), the first sample
// setting SRTT = R, RTTVAR = R/2. Its margin, SRTT + 4·RTTVAR, is what a call's turn must leave
// before the call's deadline for the answer to arrive in time: a call admitted later would be
// sent only to be cancelled in flight, its token spent at AWS for nothing.
//
// One estimate per route (service, operation, Region). It is kept in one atomic word (two
// float32 seconds); concurrent reports may overwrite each other, which loses a sample, never
// corrupts the estimate.
type latency struct{ v atomic.Uint64 }

// observe adds one attempt's latency d (ignored unless > 0).
func (e *latency) observe(d time.Duration) {
	if d <= 0 {
		return
	}
	r := d.Seconds()
	old := e.v.Load()
	srtt, rttvar := float64(math.Float32frombits(uint32(old>>32))), float64(math.Float32frombits(uint32(old)))
	if old == 0 {
		srtt, rttvar = r, r/2
	} else {
		rttvar = 0.75*rttvar + 0.25*math.Abs(srtt-r)
		srtt = 0.875*srtt + 0.125*r
	}
	e.v.Store(uint64(math.Float32bits(float32(srtt)))<<32 | uint64(math.Float32bits(float32(rttvar))))
}

// margin returns SRTT + 4·RTTVAR, or 0 before the first sample.
func (e *latency) margin() time.Duration {
	v := e.v.Load()
	if v == 0 {
		return 0
	}
	srtt, rttvar := math.Float32frombits(uint32(v>>32)), math.Float32frombits(uint32(v))
	return time.Duration((float64(srtt) + 4*float64(rttvar)) * 1e9)
}

// sendBy returns the latest time a call due by deadline may be sent for its answer to come in
// time: deadline less the route's latency margin (zero stays zero: no deadline).
func (rt *route) sendBy(deadline time.Time) time.Time {
	if deadline.IsZero() {
		return deadline
	}
	return deadline.Add(-rt.latency.margin())
}
