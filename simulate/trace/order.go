package trace

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Defaults of InOrder: how far out of time order records may come and still be put in order.
const (
	// DefaultOrderWindow is the time a record may come after a later one.
	DefaultOrderWindow = time.Minute
	// DefaultOrderBuffer is the most records InOrder holds while it waits for late ones.
	DefaultOrderBuffer = 1 << 12
)

// OrderError reports a record that came too late to be put in time order: a record with an
// earlier time had already been passed on (the trace is not sorted, or is out of order by more
// than the window). It is fatal: results computed from a trace out of order would be wrong
// without a sign of it. Sort such a trace first (Import sorts, in bounded memory).
type OrderError struct {
	// File and Line locate the late record.
	File string
	Line int64
	// Time is the late record's time; Newest is the latest time read before it, at NewestFile
	// and NewestLine.
	Time, Newest time.Time
	NewestFile   string
	NewestLine   int64
	Window       time.Duration // the InOrder window in force
	Buffer       int           // the InOrder buffer in force
}

func (e *OrderError) Error() string {
	where := e.File
	if e.Line > 0 {
		where += fmt.Sprintf(":%d", e.Line)
	}
	if where != "" {
		where += ": "
	}
	newest := "a record read before it"
	if e.NewestLine > 0 {
		newest = fmt.Sprintf("line %d", e.NewestLine)
		if e.NewestFile != e.File && e.NewestFile != "" {
			newest = fmt.Sprintf("%s:%d", e.NewestFile, e.NewestLine)
		}
	}
	how := "merging needs every input in time order"
	if e.Window > 0 || e.Buffer > 0 {
		how = fmt.Sprintf("records that late cannot be put back in order (the reader sorts records at most %v or %d records out of order)", e.Window, e.Buffer)
	}
	return fmt.Sprintf("trace: %sfield \"time\": %s is %v earlier than %s (%s), and %s: the trace is not sorted by time; "+
		"sort it with tollgate import (trace.Import)",
		where, e.Time.UTC().Format(time.RFC3339Nano), e.Newest.Sub(e.Time), newest, e.Newest.UTC().Format(time.RFC3339Nano), how)
}

// Ordered is the Source InOrder returns. Records that come in order (the common case) are read
// straight into a FIFO ring and copied out once; only records that come earlier than the
// ring's last go to a heap.
type Ordered struct {
	src    Source
	posSrc Positioner // src, when it can say where its records come from
	window time.Duration
	buffer int
	ring   []orderedItem // a FIFO of records in (time, seq) order; its length is a power of two
	head   int           // index of the ring's first record
	n      int           // records in the ring
	heap   []orderedItem // records that came earlier than the ring's last, a min-heap
	seq    uint64
	// the latest record read: its time and where it came from (seq 0: none yet)
	newestAt  time.Time
	newestPos position
	newestSeq uint64
	// the time of the record last passed on (valid once out is true)
	lastOut time.Time
	out     bool
	last    position // where the record (or input error) last returned came from
	eof     bool
	err     error // sticky fatal error
}

type orderedItem struct {
	rec Record
	seq uint64
	pos position
}

// InOrder returns a Source that yields src's records in time order, sorting them on the fly:
// it holds records (at most buffer of them) until one at least window later has been read,
// then yields the earliest. A trace in time order passes through unchanged; a trace whose
// records are out of order by less than window and buffer records comes out sorted. A record
// earlier than one already yielded cannot be put in order: Read returns an *OrderError naming
// its file and line, and returns it again on every later call. Records with equal times keep
// their order. An *InputError from src is passed on at once. window <= 0 means
// DefaultOrderWindow, buffer <= 0 DefaultOrderBuffer. Memory is bounded by buffer records.
func InOrder(src Source, window time.Duration, buffer int) *Ordered {
	if window <= 0 {
		window = DefaultOrderWindow
	}
	if buffer <= 0 {
		buffer = DefaultOrderBuffer
	}
	o := &Ordered{src: src, window: window, buffer: buffer}
	o.posSrc, _ = src.(Positioner)
	if f, ok := src.(*File); ok {
		o.posSrc, _ = f.Source.(Positioner)
	}
	return o
}

// position asks the source where its last record came from.
func (o *Ordered) position() position {
	if o.posSrc == nil {
		return position{}
	}
	f, l := o.posSrc.Position()
	return position{f, l}
}

// Position returns where the record (or input error) last returned came from.
func (o *Ordered) Position() (string, int64) { return o.last.file, o.last.line }

// Close closes the underlying source if it is an io.Closer.
func (o *Ordered) Close() error {
	if c, ok := o.src.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Read fills rec with the next record in time order (see InOrder).
func (o *Ordered) Read(rec *Record) error {
	for {
		if o.err != nil {
			return o.err
		}
		if held := o.n + len(o.heap); held > 0 {
			first := o.first()
			if o.eof || held >= o.buffer || o.newestAt.Sub(first.rec.Time) >= o.window {
				o.take(rec)
				return nil
			}
		}
		if o.eof {
			return io.EOF
		}
		// Read into the ring's next slot: a record in order stays there.
		if o.n == len(o.ring) {
			o.growRing()
		}
		slot := &o.ring[(o.head+o.n)&(len(o.ring)-1)]
		r := &slot.rec
		*r = Record{}
		err := o.src.Read(r)
		switch {
		case err == io.EOF:
			o.eof = true
			continue
		case err != nil:
			var ie *InputError
			if errors.As(err, &ie) {
				o.last = o.position()
				return err
			}
			o.err = err
			return err
		}
		o.seq++
		pos := o.position()
		if o.out && r.Time.Before(o.lastOut) {
			o.last = pos
			o.err = &OrderError{File: pos.file, Line: pos.line, Time: r.Time, Newest: o.newestAt,
				NewestFile: o.newestPos.file, NewestLine: o.newestPos.line, Window: o.window, Buffer: o.buffer}
			return o.err
		}
		if o.newestSeq == 0 || !r.Time.Before(o.newestAt) {
			o.newestAt, o.newestPos, o.newestSeq = r.Time, pos, o.seq
			slot.seq, slot.pos = o.seq, pos
			o.n++
		} else {
			o.push(orderedItem{rec: *r, seq: o.seq, pos: pos})
		}
	}
}

// first returns the earliest record held (the ring's head or the heap's top).
func (o *Ordered) first() *orderedItem {
	if o.n == 0 {
		return &o.heap[0]
	}
	h := &o.ring[o.head]
	if len(o.heap) > 0 && less(&o.heap[0], h) {
		return &o.heap[0]
	}
	return h
}

// take moves the earliest record held into rec.
func (o *Ordered) take(rec *Record) {
	var it *orderedItem
	var popped orderedItem
	if o.n > 0 && (len(o.heap) == 0 || !less(&o.heap[0], &o.ring[o.head])) {
		it = &o.ring[o.head]
		o.head = (o.head + 1) & (len(o.ring) - 1)
		o.n--
	} else {
		popped = o.pop()
		it = &popped
	}
	*rec, o.last = it.rec, it.pos
	o.lastOut, o.out = it.rec.Time, true
}

// growRing doubles the ring (from 64), keeping its order.
func (o *Ordered) growRing() {
	ring := make([]orderedItem, max(2*len(o.ring), 64))
	for i := 0; i < o.n; i++ {
		ring[i] = o.ring[(o.head+i)&(len(o.ring)-1)]
	}
	o.ring, o.head = ring, 0
}

func less(a, b *orderedItem) bool {
	if !a.rec.Time.Equal(b.rec.Time) {
		return a.rec.Time.Before(b.rec.Time)
	}
	return a.seq < b.seq
}

func (o *Ordered) push(it orderedItem) {
	o.heap = append(o.heap, it)
	h := o.heap
	for j := len(h) - 1; j > 0; {
		p := (j - 1) / 2
		if !less(&h[j], &h[p]) {
			break
		}
		h[j], h[p] = h[p], h[j]
		j = p
	}
}

func (o *Ordered) pop() orderedItem {
	h := o.heap
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = orderedItem{}
	h = h[:n]
	for j := 0; ; {
		l, r, m := 2*j+1, 2*j+2, j
		if l < n && less(&h[l], &h[m]) {
			m = l
		}
		if r < n && less(&h[r], &h[m]) {
			m = r
		}
		if m == j {
			break
		}
		h[j], h[m] = h[m], h[j]
		j = m
	}
	o.heap = h
	return top
}
