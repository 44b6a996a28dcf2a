package fleet

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// refBucket is AWS's side: one token bucket of the fleet's rate and burst, full at the start.
// An admission it has no token for is one AWS would throttle: fleet over-admission.
type refBucket struct {
	rate, burst, level float64
	t                  time.Time
}

func (b *refBucket) take(t time.Time) bool {
	if b.t.IsZero() {
		b.t, b.level = t, b.burst
	}
	if t.After(b.t) {
		b.level = min(b.level+b.rate*t.Sub(b.t).Seconds(), b.burst)
		b.t = t
	}
	if b.level >= 1-1e-9 {
		b.level--
		return true
	}
	return false
}

// overAdmitted replays admissions (times the calls are sent) through AWS's bucket and counts
// those it would throttle.
func overAdmitted(rate, burst float64, sends []time.Time) int {
	s := slices.Clone(sends)
	slices.SortFunc(s, func(a, b time.Time) int { return a.Compare(b) })
	ref := refBucket{rate: rate, burst: burst}
	over := 0
	for _, t := range s {
		if !ref.take(t) {
			over++
		}
	}
	return over
}

// leftAt is what AWS's bucket, replaying the admissions before at, still holds at at: tokens of
// its initial burst (or refill) the fleet has not spent yet, which it may spend after at on top
// of the rate.
func leftAt(rate, burst float64, sends []time.Time, at time.Time) float64 {
	s := slices.Clone(sends)
	slices.SortFunc(s, func(a, b time.Time) int { return a.Compare(b) })
	ref := refBucket{rate: rate, burst: burst}
	for _, t := range s {
		if !t.Before(at) {
			break
		}
		ref.take(t)
	}
	if ref.t.IsZero() {
		return burst
	}
	return min(ref.level+rate*at.Sub(ref.t).Seconds(), burst)
}

type vcfg struct {
	rate, burst float64
	offered     []float64 // calls per second offered by each process
	join        []time.Duration
	leave       []time.Duration
	duration    time.Duration
	maxWait     time.Duration
	rtt         time.Duration
	outages     []Window
	restarts    []time.Time
	policy      Policy
	seed        uint64
}

type vresult struct {
	sends      [][]time.Time // per process: when its admitted calls are sent
	refused    []int
	roundTrips uint64
	procs      []*Process
}

type vev struct {
	at     time.Time
	proc   int
	retry  bool
	queued bool      // the call is queued (Decision.Queued) and asks again
	start  time.Time // when the call was first decided
	seq    int
}
type vevHeap []vev

func (h vevHeap) Len() int { return len(h) }
func (h vevHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h vevHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *vevHeap) Push(x any)   { *h = append(*h, x.(vev)) }
func (h *vevHeap) Pop() any     { o := *h; x := o[len(o)-1]; *h = o[:len(o)-1]; return x }

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// runVirtual runs a fleet in virtual time: each process offers Poisson calls at its rate to one
// shared bucket through a ModelStore and records when admitted calls are sent.
func runVirtual(c vcfg) vresult {
	store := &ModelStore{RTT: c.rtt, Outages: c.outages, Restarts: c.restarts}
	id := BucketID{Rule: "ec2-describe", Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}
	spec := Spec{Rate: c.rate, Burst: c.burst}
	n := len(c.offered)
	res := vresult{sends: make([][]time.Time, n), refused: make([]int, n)}
	rng := rand.New(rand.NewPCG(c.seed, 7))
	var h vevHeap
	seq := 0
	push := func(e vev) { seq++; e.seq = seq; heap.Push(&h, e) }
	for i := range n {
		p := NewProcess(store, fmt.Sprintf("p%d", i), c.policy, 0)
		res.procs = append(res.procs, p)
		start := t0
		if i < len(c.join) {
			start = t0.Add(c.join[i])
		}
		push(vev{at: start, proc: i})
	}
	end := t0.Add(c.duration)
	for h.Len() > 0 {
		e := heap.Pop(&h).(vev)
		if !e.at.Before(end) {
			continue
		}
		if i := e.proc; i < len(c.leave) && c.leave[i] > 0 && !e.at.Before(t0.Add(c.leave[i])) {
			continue
		}
		var (
			d     Decision
			again time.Duration
		)
		if e.retry {
			// A call asking again waits at most what is left of its maxWait.
			left := c.maxWait - e.at.Sub(e.start)
			d, again = res.procs[e.proc].Redecide(e.at, id, spec, 1, max(left, 0), e.queued)
		} else {
			e.start = e.at
			d, again = res.procs[e.proc].Reserve(e.at, id, spec, 1, c.maxWait)
		}
		if again > 0 {
			push(vev{at: e.at.Add(again), proc: e.proc, retry: true, start: e.start})
		} else if d.Queued {
			push(vev{at: e.at.Add(d.Delay), proc: e.proc, retry: true, queued: true, start: e.start})
		} else if d.OK {
			res.sends[e.proc] = append(res.sends[e.proc], e.at.Add(d.Delay))
		} else {
			res.refused[e.proc]++
		}
		if !e.retry {
			gap := time.Duration(rng.ExpFloat64() / c.offered[e.proc] * 1e9)
			push(vev{at: e.at.Add(gap), proc: e.proc})
		}
	}
	res.roundTrips = store.RoundTrips
	return res
}

func (r vresult) all() []time.Time {
	var s []time.Time
	for _, x := range r.sends {
		s = append(s, x...)
	}
	return s
}

// TestVirtualFleetSharesOneBucket: 8 processes, each offering 5x its equal share, share a
// 100/s bucket for 60 s. The fleet sends what one bucket admits (r·T + B, within 2%), AWS's
// bucket would throttle none of it (over-admission ≤ 2% of the rate), every process gets its
// equal share (within 10%), and the round trips per decision stay ≤ 0.1.
func TestVirtualFleetSharesOneBucket(t *testing.T) {
	c := vcfg{rate: 100, burst: 100, duration: 60 * time.Second, maxWait: time.Second,
		rtt: 500 * time.Microsecond, seed: 1}
	for range 8 {
		c.offered = append(c.offered, 5*100/8.0)
	}
	r := runVirtual(c)
	sends := r.all()
	ideal := c.rate*c.duration.Seconds() + c.burst
	over := overAdmitted(c.rate, c.burst, sends)
	decisions := len(sends)
	for _, x := range r.refused {
		decisions += x
	}
	rtPerDecision := float64(r.roundTrips) / float64(decisions)
	t.Logf("sent %d (ideal r·T+B %.0f), over-admitted %d, round trips %d (%.4f per decision)",
		len(sends), ideal, over, r.roundTrips, rtPerDecision)
	if math.Abs(float64(len(sends))-ideal) > 0.02*c.rate*c.duration.Seconds() {
		t.Errorf("fleet sent %d, want %.0f ± 2%% of r·T", len(sends), ideal)
	}
	if float64(over) > 0.02*c.rate*c.duration.Seconds() {
		t.Errorf("over-admission %d > 2%% of r·T", over)
	}
	if rtPerDecision > 0.1 {
		t.Errorf("%.3f round trips per decision, want ≤ 0.1", rtPerDecision)
	}
	for i, s := range r.sends {
		share := float64(len(s)) / (ideal / 8)
		if share < 0.9 || share > 1.1 {
			t.Errorf("process %d sent %d, %.2f of an equal share", i, len(s), share)
		}
	}
}

// TestVirtualFleetSharesFollowDemand: 4 busy processes (60/s each) and 4 light ones (5/s each)
// share a 100/s bucket. The light ones get what they ask for (not starved); the busy ones split
// the rest; nothing is over-admitted.
func TestVirtualFleetSharesFollowDemand(t *testing.T) {
	c := vcfg{rate: 100, burst: 100, duration: 60 * time.Second, maxWait: time.Second,
		rtt: 500 * time.Microsecond, seed: 2, offered: []float64{60, 60, 60, 60, 5, 5, 5, 5}}
	r := runVirtual(c)
	over := overAdmitted(c.rate, c.burst, r.all())
	var got []float64
	for _, s := range r.sends {
		got = append(got, float64(len(s))/c.duration.Seconds())
	}
	t.Logf("rates per process %.1f, refused %v, over-admitted %d", got, r.refused, over)
	for i := 4; i < 8; i++ {
		if got[i] < 0.95*5 {
			t.Errorf("light process %d got %.2f/s of the 5/s it asked for", i, got[i])
		}
	}
	for i := range 4 {
		if got[i] < 0.85*20 || got[i] > 1.15*20 {
			t.Errorf("busy process %d got %.2f/s, want about (100-20)/4 = 20/s", i, got[i])
		}
		if got[i] <= got[4] {
			t.Errorf("busy process %d got %.2f/s, no more than a light one (%.2f/s)", i, got[i], got[4])
		}
	}
	if float64(over) > 0.02*c.rate*c.duration.Seconds() {
		t.Errorf("over-admission %d", over)
	}
}

// TestVirtualNewcomerNotStarved: 7 processes saturate the bucket; an eighth joins at 20 s and
// must reach its equal share within a few lease lengths; one leaves at 40 s and its share goes
// back to the others.
func TestVirtualNewcomerNotStarved(t *testing.T) {
	c := vcfg{rate: 100, burst: 100, duration: 60 * time.Second, maxWait: time.Second,
		rtt: 500 * time.Microsecond, seed: 3}
	for range 8 {
		c.offered = append(c.offered, 60)
	}
	c.join = []time.Duration{7: 20 * time.Second}
	c.leave = []time.Duration{0: 40 * time.Second}
	r := runVirtual(c)
	count := func(p int, from, to time.Duration) float64 {
		n := 0
		for _, s := range r.sends[p] {
			if !s.Before(t0.Add(from)) && s.Before(t0.Add(to)) {
				n++
			}
		}
		return float64(n) / (to - from).Seconds()
	}
	newcomer := count(7, 26*time.Second, 40*time.Second)
	stayer := count(1, 46*time.Second, 60*time.Second)
	t.Logf("newcomer %.1f/s after joining (equal share 12.5), a stayer %.1f/s after one left (equal share 14.3)", newcomer, stayer)
	if newcomer < 0.85*12.5 {
		t.Errorf("newcomer got %.1f/s, want about 12.5", newcomer)
	}
	if stayer < 0.85*100/7.0 {
		t.Errorf("after a process left, a stayer got %.1f/s, want about %.1f", stayer, 100/7.0)
	}
	// Every share cut (the newcomer's arrival) kept the pace promised to calls reserved ahead.
	if over := overAdmitted(c.rate, c.burst, r.all()); over > 0 {
		t.Errorf("over-admission %d", over)
	}
}

// TestVirtualOutagesAndRestarts: 8 processes, each offering twice its equal share of a 100/s
// bucket for 60 s, through a store that is unreachable from 10 s to 15 s (its state kept: a
// partition) and restarted empty at 30 s and again at 45 s after a 3 s outage. Fail-open, the
// fleet keeps calling through every fault, goes back to leases each time and sends about r·T
// in all (at least 98%: what it spent in fallback within its shares is not charged twice);
// fail-closed, nothing is sent once the leases taken before the outage have ended. Either way
// AWS's bucket would throttle nothing: leases never exceed the bucket, fallbacks start empty
// at shares adding up to the rate, and every process comes back within the recovery that the
// first one back starts (the store holds the shares of those still out), so no fallback
// overlaps a lease that took its share.
func TestVirtualOutagesAndRestarts(t *testing.T) {
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	base := vcfg{rate: 100, burst: 100, duration: 60 * time.Second, maxWait: time.Second,
		rtt: 500 * time.Microsecond, seed: 4,
		outages:  []Window{{at(10), at(15)}, {at(42), at(45)}},
		restarts: []time.Time{at(30), at(45)}}
	for range 8 {
		base.offered = append(base.offered, 2*100/8.0)
	}
	for _, failClosed := range []bool{false, true} {
		c := base
		c.policy.FailClosed = failClosed
		r := runVirtual(c)
		sends := r.all()
		over := overAdmitted(c.rate, c.burst, sends)
		during := inWindow(sends, at(10.5), at(15)) + inWindow(sends, at(42.5), at(45))
		fallbacks, recoveries := 0, 0
		for _, p := range r.procs {
			fallbacks += p.Fallbacks
			recoveries += p.Recoveries
		}
		t.Logf("fail-closed %v: sent %d (r·T+B = %.0f), during outages %d, AWS would throttle %d (%.2f%% of r·T), fallbacks %d, recoveries %d",
			failClosed, len(sends), c.rate*60+c.burst, during, over, 100*float64(over)/(c.rate*60), fallbacks, recoveries)
		if over > 0 {
			t.Errorf("fail-closed %v: AWS's bucket would throttle %d", failClosed, over)
		}
		if fallbacks < 2*len(r.procs) || recoveries < 2*len(r.procs) {
			t.Errorf("fail-closed %v: %d fallbacks and %d recoveries, want each process to fall back and recover at both outages", failClosed, fallbacks, recoveries)
		}
		if !failClosed && float64(during) < 0.8*c.rate*7 {
			t.Errorf("fail-open: %d calls during 7 s of outage, want about r per second", during)
		}
		// Fail-closed, a process spends only what its lease gives: nothing once every lease
		// taken before the outage has ended (2 s) and every call it reserved ahead has gone (1 s).
		if late := inWindow(sends, at(13), at(15)); failClosed && late > 0 {
			t.Errorf("fail-closed: %d calls sent 3 s into the outage, without a lease", late)
		}
		if float64(len(sends)) < 0.98*c.rate*60 && !failClosed {
			t.Errorf("fail-open: sent %d, want at least 98%% of r·T", len(sends))
		}
	}
}
