package fleet

import (
	"container/heap"
	"errors"
	"time"
)

// ModelStore is the fleet store in virtual time, for the simulator and tests: State.Apply (the
// script's twin) behind a modelled network. A request sent at t reaches the store at t+RTT/2,
// is applied there in arrival order at that time, and its reply is back at t+RTT. During an
// outage window the store is unreachable: a request gets no answer, and its sender gives up
// after its timeout. A restart loses every bucket (a redis-server without persistence). It is
// not safe for concurrent use (a simulation run is single-threaded).
type ModelStore struct {
	RTT      time.Duration
	Outages  []Window    // the store is unreachable in these
	Restarts []time.Time // the store loses its state at these times

	buckets  map[BucketID]*State
	arrivals arrivalHeap
	seq      uint64
	restarts int // restarts already applied
	// RoundTrips counts requests sent.
	RoundTrips uint64
}

// Window is a span of virtual time [From, To).
type Window struct{ From, To time.Time }

func (w Window) contains(t time.Time) bool { return !t.Before(w.From) && t.Before(w.To) }

// Ticket is a request in flight to a ModelStore.
type Ticket struct {
	reply   Reply
	err     error
	applied bool
	readyAt time.Time // when the answer is back (or, unanswered, never: see Poll)
	sentAt  time.Time
	lost    bool
}

type arrival struct {
	at  time.Time
	seq uint64
	id  BucketID
	q   Request
	t   *Ticket
}

type arrivalHeap []*arrival

func (h arrivalHeap) Len() int { return len(h) }
func (h arrivalHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h arrivalHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *arrivalHeap) Push(x any)   { *h = append(*h, x.(*arrival)) }
func (h *arrivalHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// errUnreachable is a request that got no answer (outage).
var errUnreachable = errors.New("fleet: model store unreachable")

func (m *ModelStore) down(t time.Time) bool {
	for _, w := range m.Outages {
		if w.contains(t) {
			return true
		}
	}
	return false
}

// Send sends q for bucket id at now and returns its ticket.
func (m *ModelStore) Send(now time.Time, id BucketID, q Request) *Ticket {
	m.RoundTrips++
	t := &Ticket{sentAt: now, readyAt: now.Add(m.RTT)}
	arrive := now.Add(m.RTT / 2)
	if m.down(now) || m.down(arrive) {
		t.lost = true // never reaches the store
		return t
	}
	m.seq++
	heap.Push(&m.arrivals, &arrival{at: arrive, seq: m.seq, id: id, q: q, t: t})
	return t
}

// advance applies every request that has reached the store by now, in arrival order, and the
// restarts due by then.
func (m *ModelStore) advance(now time.Time) {
	if m.buckets == nil {
		m.buckets = map[BucketID]*State{}
	}
	for {
		var next *arrival
		if len(m.arrivals) > 0 && !m.arrivals[0].at.After(now) {
			next = m.arrivals[0]
		}
		// A restart before the next arrival (or before now) wipes the state first.
		if m.restarts < len(m.Restarts) {
			r := m.Restarts[m.restarts]
			if !r.After(now) && (next == nil || !next.at.Before(r)) {
				m.buckets = map[BucketID]*State{}
				m.restarts++
				continue
			}
		}
		if next == nil {
			return
		}
		heap.Pop(&m.arrivals)
		st, r := Apply(m.buckets[next.id], next.at.UnixMicro(), next.q)
		m.buckets[next.id] = st
		next.t.reply, next.t.applied = r, true
		if m.down(next.t.readyAt) {
			next.t.lost = true // the answer is lost on the way back
		}
	}
}

// Poll reports the ticket's outcome at now: ready is false while the answer is still on its
// way; a request past timeout without an answer has failed (err != nil).
func (m *ModelStore) Poll(now time.Time, t *Ticket, timeout time.Duration) (r Reply, err error, ready bool) {
	m.advance(now)
	if !t.lost && !now.Before(t.readyAt) && (timeout <= 0 || m.RTT <= timeout) {
		return t.reply, nil, true
	}
	if timeout > 0 && !now.Before(t.sentAt.Add(timeout)) {
		return Reply{}, errUnreachable, true
	}
	return Reply{}, nil, false
}

// DoneAt is when the ticket's outcome is known: its answer's arrival, or its timeout.
func (m *ModelStore) DoneAt(t *Ticket, timeout time.Duration) time.Time {
	if !t.lost && (timeout <= 0 || m.RTT <= timeout) {
		return t.readyAt
	}
	return t.sentAt.Add(timeout)
}

// Bucket returns the store's state of bucket id at now (nil if it has none).
func (m *ModelStore) Bucket(now time.Time, id BucketID) *State {
	m.advance(now)
	return m.buckets[id]
}
