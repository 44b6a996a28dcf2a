package simulate

import "math"

// eventKind says what an event does when its time comes.
type eventKind uint8

const (
	evArrival       eventKind = iota + 1 // an open-loop group's next call arrives (id: group)
	evWorkerStart                        // a closed-loop worker starts its next call (id: worker)
	evTraceArrival                       // the pending trace record's call arrives (id: unused)
	evSend                               // a call's attempt asks to be sent (id: call)
	evArrive                             // a call's attempt reaches the server (id: call)
	evResponse                           // a call's attempt's answer reaches the client (id: call)
	evWake                               // a sleep group's attempts wake (id: sleep group)
	evSleepDeadline                      // a sleeping call's deadline (id: call)
	evCancel                             // a call's deadline while its attempt is in flight (id: call)
)

// simEvent is one scheduled happening. Events are values: the queue never allocates per event.
type simEvent struct {
	at   int64  // virtual time, nanoseconds since the run's epoch
	seq  uint64 // scheduling order: breaks ties so equal times pop first-scheduled first
	id   int32
	kind eventKind
}

func (e *simEvent) before(o *simEvent) bool {
	return e.at < o.at || (e.at == o.at && e.seq < o.seq)
}

// eventHeap is the engine's event queue, ordered by (at, seq): pop returns events in exactly
// the order a single priority queue would.
//
// Most events are scheduled a constant delay after the current time (a network hop without
// jitter, a closed-loop worker's think time), so events with the same delay come in time
// order: the engine gives each such delay a lane (pushLane), a FIFO ring that takes an event
// in O(1) as long as it is not earlier than the lane's last one. Everything else (retries
// after a random backoff, limiter waits, jittered hops, arrivals, the rare event a lane cannot
// take) goes to a 4-ary min-heap. pop takes the least of the heap's top and the lanes' heads:
// a few comparisons, as there are at most maxLanes lanes.
type eventHeap struct {
	ev     []simEvent // the 4-ary heap
	seq    uint64
	lanes  [maxLanes]lane
	nlanes int
	n      int          // events in lanes
	spare  [][]simEvent // storage for new lanes
}

// maxLanes bounds the lanes (each costs a comparison per pop); delays beyond use the heap.
const maxLanes = 8

// lane is a FIFO ring of events in (at, seq) order. Its capacity is a power of two.
type lane struct {
	ev   []simEvent
	head int // index of the first event
	n    int // events in the ring
	// the first event's time and sequence number, while n > 0
	headAt  int64
	headSeq uint64
	last    int64 // the last event's time, while n > 0
}

// addLane adds a lane and returns its index, or -1 if there are maxLanes already.
func (h *eventHeap) addLane() int {
	if h.nlanes >= maxLanes {
		return -1
	}
	var ev []simEvent
	if k := len(h.spare); k > 0 {
		ev, h.spare = h.spare[k-1], h.spare[:k-1]
	} else {
		ev = make([]simEvent, 64)
	}
	h.lanes[h.nlanes] = lane{ev: ev}
	h.nlanes++
	return h.nlanes - 1
}

// push schedules an event in the heap.
func (h *eventHeap) push(at int64, kind eventKind, id int32) {
	h.seq++
	h.pushHeap(simEvent{at: at, seq: h.seq, id: id, kind: kind})
}

// pushLane schedules an event in lane li if it is not earlier than the lane's last event (then
// the lane stays in order), in the heap otherwise. li < 0 means the heap.
func (h *eventHeap) pushLane(li int, at int64, kind eventKind, id int32) {
	h.seq++
	x := simEvent{at: at, seq: h.seq, id: id, kind: kind}
	if li >= 0 {
		l := &h.lanes[li]
		if l.n == 0 {
			l.headAt, l.headSeq = at, x.seq
		} else if l.last > at {
			h.pushHeap(x)
			return
		} else if l.n == len(l.ev) {
			l.grow()
		}
		l.ev[(l.head+l.n)&(len(l.ev)-1)] = x
		l.n++
		l.last = at
		h.n++
		return
	}
	h.pushHeap(x)
}

// grow doubles the ring's capacity, keeping the order.
func (l *lane) grow() {
	ev := make([]simEvent, 2*len(l.ev))
	k := copy(ev, l.ev[l.head:])
	copy(ev[k:], l.ev[:l.head])
	l.ev, l.head = ev, 0
}

func (h *eventHeap) pushHeap(x simEvent) {
	h.ev = append(h.ev, x)
	ev := h.ev
	i := len(ev) - 1
	for i > 0 {
		p := (i - 1) >> 2
		if !x.before(&ev[p]) {
			break
		}
		ev[i] = ev[p]
		i = p
	}
	ev[i] = x
}

// len returns the number of scheduled events.
func (h *eventHeap) len() int { return len(h.ev) + h.n }

// pop removes and returns the earliest event. The queue must not be empty.
func (h *eventHeap) pop() simEvent {
	if h.n > 0 {
		// The heap's top, unless a lane's head comes first.
		from := -1
		at, seq := int64(math.MaxInt64), uint64(math.MaxUint64)
		if len(h.ev) > 0 {
			at, seq = h.ev[0].at, h.ev[0].seq
		}
		lanes := h.lanes[:h.nlanes]
		for i := range lanes {
			l := &lanes[i]
			if l.n > 0 && (l.headAt < at || (l.headAt == at && l.headSeq < seq)) {
				from, at, seq = i, l.headAt, l.headSeq
			}
		}
		if from >= 0 {
			l := &lanes[from]
			mask := len(l.ev) - 1
			x := l.ev[l.head&mask]
			l.head = (l.head + 1) & mask
			l.n--
			h.n--
			if l.n > 0 {
				next := &l.ev[l.head&mask]
				l.headAt, l.headSeq = next.at, next.seq
			}
			return x
		}
	}
	return h.popHeap()
}

func (h *eventHeap) popHeap() simEvent {
	ev := h.ev
	top := ev[0]
	n := len(ev) - 1
	x := ev[n]
	h.ev = ev[:n]
	ev = h.ev
	if n == 0 {
		return top
	}
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		end := min(c+4, n)
		for j := c + 1; j < end; j++ {
			if ev[j].before(&ev[m]) {
				m = j
			}
		}
		if !ev[m].before(&x) {
			break
		}
		ev[i] = ev[m]
		i = m
	}
	ev[i] = x
	return top
}
