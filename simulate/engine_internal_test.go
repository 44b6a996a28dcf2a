package simulate

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/backoff"
)

// The event queue pops events in (time, scheduling order) order, exactly as one priority
// queue would, whatever goes to its lanes and whatever to its heap: events a constant delay
// ahead, arrivals in time order, random retries, events at equal times, and events scheduled
// before the current time (a call that ends at a deadline already past). A plain list, searched
// for its least event at each pop, is driven in lockstep as the reference.
func TestEventQueueIsOnePriorityQueue(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 20; round++ {
		var h eventHeap
		lanes := []int{h.addLane(), h.addLane(), h.addLane()}
		var ref []simEvent
		pushed := 0
		push := func(at int64, li int) {
			id := int32(pushed)
			pushed++
			if li < 0 {
				h.push(at, evSend, id)
			} else {
				h.pushLane(lanes[li], at, evArrive, id)
			}
			ref = append(ref, simEvent{at: at, seq: h.seq, id: id})
		}
		for i := 0; i < 200; i++ {
			push(rng.Int64N(1000), rng.IntN(4)-1)
		}
		for h.len() > 0 {
			if h.len() != len(ref) {
				t.Fatalf("round %d: %d events queued, want %d", round, h.len(), len(ref))
			}
			e := h.pop()
			m := slices.MinFunc(ref, func(a, b simEvent) int {
				if c := cmp.Compare(a.at, b.at); c != 0 {
					return c
				}
				return cmp.Compare(a.seq, b.seq)
			})
			if e.id != m.id || e.at != m.at {
				t.Fatalf("round %d: popped event %d at %d, want %d at %d", round, e.id, e.at, m.id, m.at)
			}
			ref = slices.DeleteFunc(ref, func(x simEvent) bool { return x.id == m.id })
			now := e.at
			if pushed > 3000 {
				continue
			}
			for k := rng.IntN(3); k > 0; k-- {
				switch rng.IntN(6) {
				case 0: // a constant delay
					push(now+100, 0)
				case 1: // another one
					push(now+7, 1)
				case 2: // arrivals: in time order, sometimes at the same time
					push(now+rng.Int64N(3), 2)
				case 3: // a random retry
					push(now+rng.Int64N(5000), -1)
				case 4: // into the past, through a lane
					push(now-rng.Int64N(50), rng.IntN(3))
				default: // the same time, anywhere
					push(now, rng.IntN(4)-1)
				}
			}
		}
		if len(ref) != 0 {
			t.Fatalf("round %d: the queue is empty with %d events left", round, len(ref))
		}
	}
}

// t and tOther are epoch.Add: for the scenarios' epoch and a trace's (whole seconds in UTC),
// with virtual time going forwards, backwards and far, and for epochs the fast path does not
// take (a fraction of a second, another zone, a monotonic reading).
func TestEngineTimeIsEpochAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, epoch := range []time.Time{Epoch, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		Epoch.Add(time.Millisecond), Epoch.In(time.FixedZone("x", 3600)), time.Now()} {
		var e engine
		e.setEpoch(epoch)
		ns := int64(0)
		for i := 0; i < 100000; i++ {
			switch rng.IntN(5) {
			case 0:
				ns += rng.Int64N(2e9)
			case 1:
				ns -= rng.Int64N(2e9)
			case 2:
				ns = rng.Int64N(1<<62) - 1<<61
			default:
				ns += rng.Int64N(1e6)
			}
			if got, want := e.t(ns), epoch.Add(time.Duration(ns)); got != want {
				t.Fatalf("epoch %v: t(%d) = %#v, want %#v", epoch, ns, got, want)
			}
			other := ns + rng.Int64N(2e10) - 1e10
			if got, want := e.tOther(other), epoch.Add(time.Duration(other)); got != want {
				t.Fatalf("epoch %v: tOther(%d) = %#v, want %#v", epoch, other, got, want)
			}
		}
	}
}

// The class cache answers what the policy's classifier does, for signals that recur (the same
// strings), equal signals in other strings, and new ones.
func TestClassCacheIsClassify(t *testing.T) {
	p := &backoff.Policy{Classifier: backoff.NewClassifier(backoff.WithCodes(backoff.NonRetryable, "SlowDown"))}
	signals := []backoff.Signal{
		{Code: "RequestLimitExceeded", Status: 503}, {Code: "SlowDown", Status: 503}, {Code: "InternalError", Status: 500},
		{Status: 429}, {Code: "Throttling", Status: 400}, {Transport: backoff.ConnReset}, {Code: "AccessDenied", Status: 403},
	}
	var cc classCache
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 10000; i++ {
		s := signals[rng.IntN(len(signals))]
		if rng.IntN(3) == 0 {
			s.Code = strings.Clone(s.Code)
		}
		if got, want := cc.classify(p, s), p.Classify(s); got != want {
			t.Fatalf("%+v: cached class %v, Classify says %v", s, got, want)
		}
	}
}
