package simulate

import (
	"errors"
	"io"
	"sync"

	"github.com/tollgate/tollgate/simulate/server"
	"github.com/tollgate/tollgate/simulate/trace"
)

// prefetcher reads a trace on its own goroutine, a batch of records ahead of the engine, so
// decoding and simulating use two cores. Memory is bounded by prefetchBatches batches. It also
// tallies the capacity of the server buckets the records touch (off the engine's goroutine).
type prefetcher struct {
	batches chan *batch
	free    chan *batch
	done    chan struct{}
	once    sync.Once
	cur     *batch
	pos     int

	// capacity, per service and in total; read only after the stream ends
	caps  map[string]*capacityTracker
	total *capacityTracker
}

type batch struct {
	recs []trace.Record
	errs []error // per record: nil, or the *trace.InputError in its place
	err  error   // io.EOF or a fatal error after the records
}

const (
	prefetchBatch   = 1024
	prefetchBatches = 4
)

func newPrefetcher(src trace.Source, caps map[string]*capacityTracker, total *capacityTracker) *prefetcher {
	p := &prefetcher{batches: make(chan *batch, prefetchBatches), free: make(chan *batch, prefetchBatches+1),
		done: make(chan struct{}), caps: caps, total: total}
	for i := 0; i < prefetchBatches+1; i++ {
		p.free <- &batch{recs: make([]trace.Record, prefetchBatch), errs: make([]error, prefetchBatch)}
	}
	go p.run(src)
	return p
}

func (p *prefetcher) run(src trace.Source) {
	defer close(p.batches)
	for {
		var b *batch
		select {
		case b = <-p.free:
		case <-p.done:
			return
		}
		b.recs, b.errs, b.err = b.recs[:0], b.errs[:0], nil
		for len(b.recs) < prefetchBatch {
			var rec trace.Record
			err := src.Read(&rec)
			var ie *trace.InputError
			if err != nil && !errors.As(err, &ie) {
				b.err = err
				break
			}
			if err == nil {
				p.tally(&rec)
			}
			b.recs = append(b.recs, rec)
			b.errs = append(b.errs, err)
		}
		select {
		case p.batches <- b:
		case <-p.done:
			return
		}
		if b.err != nil {
			return
		}
	}
}

// tally adds the record's server bucket to the capacity trackers.
func (p *prefetcher) tally(r *trace.Record) {
	req := server.Request{Region: r.Region, Service: r.Service, Operation: r.Operation, Resource: r.Resource,
		Prefix: server.PrefixOf(r.Key)}
	t := p.caps[r.Service]
	if t == nil {
		t = newCapacityTracker(p.total.rules)
		p.caps[r.Service] = t
	}
	t.add(&req)
	p.total.add(&req)
}

// Read implements trace.Source.
func (p *prefetcher) Read(rec *trace.Record) error {
	for p.cur == nil || p.pos == len(p.cur.recs) {
		if p.cur != nil {
			if p.cur.err != nil {
				return p.cur.err
			}
			p.free <- p.cur
			p.cur = nil
		}
		b, ok := <-p.batches
		if !ok {
			return io.EOF
		}
		p.cur, p.pos = b, 0
	}
	i := p.pos
	p.pos++
	*rec = p.cur.recs[i]
	return p.cur.errs[i]
}

// Close stops the reading goroutine and waits for it. It may be called more than once.
func (p *prefetcher) Close() {
	p.once.Do(func() {
		close(p.done)
		for range p.batches {
		}
	})
}
