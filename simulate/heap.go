package simulate

import (
	"math/bits"
	"sync"
)

// eventKind says what an event does when its time comes.
type eventKind uint8

const (
	evArrival      eventKind = iota + 1 // an open-loop group's next call arrives (id: group)
	evWorkerStart                       // a closed-loop worker starts its next call (id: worker)
	evTraceArrival                      // the pending trace record's call arrives (id: unused)
	evSend                              // a call's attempt asks to be sent (id: call)
	evArrive                            // a call's attempt reaches the server (id: call)
	evResponse                          // a call's attempt's answer reaches the client (id: call)
)

// simEvent is one scheduled happening. Events are values: the heap never allocates per event.
type simEvent struct {
	at   int64  // virtual time, nanoseconds since the run's epoch
	seq  uint64 // scheduling order: breaks ties so equal times pop first-scheduled first
	id   int32
	kind eventKind
}

// eventHeap is the engine's event queue, ordered by (at, seq). Most events are scheduled a
// constant delay after the current time (a network hop), so they come in time order: such an
// event is appended to a FIFO lane whose last event is not later, in O(1). Out-of-order events
// (retries after a random backoff, limiter waits) within a few seconds go to a timing wheel of
// 1 ms buckets, also O(1); the rest to a 4-ary min-heap. pop takes the least of the lanes' heads,
// the wheel's earliest and the heap's top, so the order is exactly that of a single heap.
type eventHeap struct {
	ev    []simEvent
	seq   uint64
	lanes [numLanes]lane
	w     *wheel // near-future events out of order (retries, waits); nil until needed
	n     int    // events in lanes and the wheel
}

const numLanes = 4

// lane is a FIFO of events in (at, seq) order.
type lane struct {
	ev   []simEvent
	head int
}

func (l *lane) empty() bool { return l.head == len(l.ev) }

func (l *lane) tail() *simEvent { return &l.ev[len(l.ev)-1] }

func (e *simEvent) before(o *simEvent) bool {
	return e.at < o.at || (e.at == o.at && e.seq < o.seq)
}

// push schedules an event.
func (h *eventHeap) push(at int64, kind eventKind, id int32) {
	h.seq++
	x := simEvent{at: at, seq: h.seq, id: id, kind: kind}
	// Best fit: the lane with the latest tail not after x, else an empty lane, else the heap.
	best, empty := -1, -1
	var bestAt int64
	for i := range h.lanes {
		l := &h.lanes[i]
		if l.empty() {
			if empty < 0 {
				empty = i
			}
			continue
		}
		if t := l.tail().at; t <= at && (best < 0 || t > bestAt) {
			best, bestAt = i, t
		}
	}
	if best < 0 {
		if h.pushWheel(x) {
			return
		}
		best = empty
	}
	if best >= 0 {
		l := &h.lanes[best]
		if l.empty() {
			l.ev, l.head = l.ev[:0], 0
		} else if l.head > 1024 && l.head*2 > len(l.ev) {
			n := copy(l.ev, l.ev[l.head:])
			l.ev, l.head = l.ev[:n], 0
		}
		l.ev = append(l.ev, x)
		h.n++
		return
	}
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
	var min *simEvent
	from := -1
	if len(h.ev) > 0 {
		min = &h.ev[0]
	}
	for i := range h.lanes {
		l := &h.lanes[i]
		if !l.empty() && (min == nil || l.ev[l.head].before(min)) {
			min, from = &l.ev[l.head], i
		}
	}
	if w := h.w; w != nil && w.n > 0 {
		if b, i := w.min(); min == nil || w.buckets[b][i].before(min) {
			x := w.take(b, i)
			h.n--
			return x
		}
	}
	var x simEvent
	if from >= 0 {
		l := &h.lanes[from]
		l.head++
		h.n--
		x = *min
	} else {
		x = h.popHeap()
	}
	if h.w != nil {
		h.w.advance(x.at)
	}
	return x
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

// wheel is a timing wheel: wheelSize buckets of 2^wheelShift ns covering the near future from
// the current time's bucket. A bitmap finds the next non-empty bucket; a bucket holds few events
// and is scanned for its least.
type wheel struct {
	buckets [wheelSize][]simEvent
	bits    [wheelSize / 64]uint64
	base    int64 // absolute bucket of the current time
	n       int
	// the earliest event's place, while cached
	minOK      bool
	minB, minI int
}

const (
	wheelShift = 18 // ≈262 µs buckets
	wheelSize  = 16384
)

var wheelPool = sync.Pool{New: func() any { return new(wheel) }}

// release returns the queue's wheel to a pool (it must be empty).
func (h *eventHeap) release() {
	if h.w != nil && h.w.n == 0 {
		wheelPool.Put(h.w)
		h.w = nil
	}
}

// pushWheel puts x in the wheel if it falls within its horizon.
func (h *eventHeap) pushWheel(x simEvent) bool {
	if h.w == nil {
		h.w = wheelPool.Get().(*wheel)
		h.w.base = x.at >> wheelShift
		if len(h.ev) > 0 {
			h.w.base = min(h.w.base, h.ev[0].at>>wheelShift)
		}
	}
	w := h.w
	b := x.at >> wheelShift
	if b < w.base || b-w.base >= wheelSize {
		return false
	}
	i := b & (wheelSize - 1)
	w.buckets[i] = append(w.buckets[i], x)
	w.bits[i>>6] |= 1 << (i & 63)
	if w.minOK && x.before(&w.buckets[w.minB][w.minI]) {
		w.minB, w.minI = int(i), len(w.buckets[i])-1
	}
	w.n++
	h.n++
	return true
}

// advance moves the wheel's base to the bucket of at, the current time (never backwards).
func (w *wheel) advance(at int64) {
	if b := at >> wheelShift; b > w.base {
		w.base = b // at is the earliest pending time: no wheel event is in an earlier bucket
	}
}

// min returns the bucket and index of the wheel's earliest event (the wheel is not empty).
func (w *wheel) min() (int, int) {
	if w.minOK {
		return w.minB, w.minI
	}
	start := int(w.base & (wheelSize - 1))
	word, bit := start>>6, uint(start&63)
	var b int
	if m := w.bits[word] >> bit << bit; m != 0 {
		b = word<<6 | bits.TrailingZeros64(m)
	} else {
		found := false
		for k := 1; k <= len(w.bits); k++ {
			wi := (word + k) % len(w.bits)
			m := w.bits[wi]
			if wi == word {
				m &= 1<<bit - 1 // wrapped around: only buckets before the start
			}
			if m != 0 {
				b, found = wi<<6|bits.TrailingZeros64(m), true
				break
			}
		}
		if !found {
			panic("simulate: timing wheel bitmap out of sync")
		}
	}
	bk := w.buckets[b]
	m := 0
	for j := 1; j < len(bk); j++ {
		if bk[j].before(&bk[m]) {
			m = j
		}
	}
	w.minOK, w.minB, w.minI = true, b, m
	return b, m
}

// take removes event i of bucket b and moves the base to its bucket.
func (w *wheel) take(b, i int) simEvent {
	bk := w.buckets[b]
	x := bk[i]
	last := len(bk) - 1
	bk[i] = bk[last]
	w.buckets[b] = bk[:last]
	if last == 0 {
		w.bits[b>>6] &^= 1 << (b & 63)
	}
	w.n--
	w.minOK = false
	w.base = x.at >> wheelShift
	return x
}
