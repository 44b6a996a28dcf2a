package simulate

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/internal/vtime"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/server"
	"github.com/tollgate/tollgate/simulate/trace"
)

// prefetcher reads a trace on its own goroutine, batches of records ahead of the engine, so
// decoding and simulating use two cores. Memory is bounded by prefetchBatches batches. Besides
// decoding, it does the per-record work that does not depend on the simulation, off the
// engine's goroutine: it tallies the capacity of the server buckets the records touch, and
// prepares each record's call (its time since the epoch, its S3 prefix, its service's error
// answers, the indices of its group and client process).
type prefetcher struct {
	batches chan *batch
	free    chan *batch
	done    chan struct{}
	once    sync.Once
	cur     *batch
	pos     int

	// Read-side state, owned by the reading goroutine. Groups (one per service) and client
	// processes are numbered in order of first appearance, as the engine creates them: it
	// handles records in the same order.
	epoch     time.Time
	haveEpoch bool
	maxSpan   int64 // the latest a record may come after the epoch, in nanoseconds
	src       trace.Source
	services  map[string]*traceService
	clients   map[string]int32
	lastSvc   *traceService
	// requests recently tallied
	recentReq [256]recentRequest
	// recent clients, in slots chosen by the address of their name (readers share the
	// strings of recurring values)
	recentCli [64]struct {
		name string
		ix   int32
		ok   bool
	}

	// capacity, per service and in total; read only after the stream ends
	caps  map[string]*capacityTracker
	total *capacityTracker
}

// traceService is what a replay needs to know about one service of a trace.
type traceService struct {
	name      string
	group     int32          // index of the service's group
	thr, fail backoff.Signal // its throttling and internal-error answers
	hint      *server.Hint   // the retry hint of its throttling answers (AWS's, per service), nil for none
	caps      *capacityTracker
	// its operations (per operation and Region), numbered in order of first appearance, with
	// the capacity of the buckets each touches; the engine reads them after the stream ends
	ops    map[traceOpKey]int32
	opList []traceOp
	lastOp int32 // the operation of the service's latest record, -1 before the first
}

type traceOpKey struct{ operation, region string }

// traceOp is one operation of a traced service.
type traceOp struct {
	info opInfo
	caps *capacityTracker
}

// traceItem is one record of a trace, prepared for the engine. What the engine reads comes
// first, in as few cache lines as possible: the prefetcher wrote them on another core.
type traceItem struct {
	err error // nil, or the *trace.InputError in the record's place
	// for a record without error:
	at   int64 // rec.Time - the epoch, in nanoseconds
	svc  *traceService
	op   int32          // index of the record's operation in svc.opList
	proc int32          // index of rec.Client's process
	req  server.Request // the record's request (its S3 prefix is server.PrefixOf(rec.Key))
	rec  trace.Record
}

type batch struct {
	items []traceItem
	err   error // io.EOF or a fatal error after the records
}

const (
	prefetchBatch   = 128
	prefetchBatches = 16
)

// newPrefetcher starts reading src. A record more than maxSpan after the first is a fatal error.
func newPrefetcher(src trace.Source, caps map[string]*capacityTracker, total *capacityTracker, maxSpan time.Duration) *prefetcher {
	p := &prefetcher{batches: make(chan *batch, prefetchBatches), free: make(chan *batch, prefetchBatches+1),
		done: make(chan struct{}), caps: caps, total: total, maxSpan: int64(maxSpan), src: src,
		services: map[string]*traceService{}, clients: map[string]int32{}}
	for i := 0; i < prefetchBatches+1; i++ {
		p.free <- &batch{items: make([]traceItem, prefetchBatch)}
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
		b.items, b.err = b.items[:cap(b.items)], nil
		n := 0
		for n < len(b.items) {
			// Read into the batch's own slot: a record read through the interface into a
			// local variable would be allocated on the heap, one per record.
			it := &b.items[n]
			it.rec = trace.Record{}
			err := src.Read(&it.rec)
			if err != nil && !isInputError(err) {
				b.err = err
				break
			}
			it.err = err
			if err == nil {
				if err := p.prepare(it); err != nil {
					b.err = err
					break
				}
			}
			n++
		}
		b.items = b.items[:n]
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

// defaultHints are the retry hints AWS sends, which a replay's server model sends: per service
// (a trace's calls get the hints of their service's every operation).
var defaultHints = server.DefaultHints()

// prepare fills in the item's call and tallies its server bucket. A record too far from the
// first for virtual time is an error naming its file and line.
func (p *prefetcher) prepare(it *traceItem) error {
	r := &it.rec
	if !p.haveEpoch {
		// The first record fixes the epoch: its second.
		p.epoch, p.haveEpoch = r.Time.Truncate(time.Second), true
	}
	it.at = int64(vtime.Sub(r.Time, p.epoch))
	if it.at < 0 || it.at > p.maxSpan {
		return p.spanError(r)
	}
	it.req = server.Request{Region: r.Region, Service: r.Service, Operation: r.Operation, Resource: r.Resource,
		Prefix: server.PrefixOf(r.Key), Units: r.Units}
	svc := p.lastSvc
	if svc == nil || svc.name != r.Service {
		svc = p.services[r.Service]
		if svc == nil {
			svc = &traceService{name: r.Service, group: int32(len(p.services)), ops: map[traceOpKey]int32{}, lastOp: -1}
			svc.thr, svc.fail = serviceErrors(r.Service)
			svc.hint = defaultHints.Lookup(r.Service, "")
			svc.caps = p.caps[r.Service]
			if svc.caps == nil {
				svc.caps = newCapacityTracker(p.total.rules)
				p.caps[r.Service] = svc.caps
			}
			p.services[r.Service] = svc
		}
		p.lastSvc = svc
	}
	it.svc = svc
	it.op = svc.op(r.Operation, r.Region, p.total.rules)
	rc := &p.recentCli[addrHash(r.Client)&63]
	if !rc.ok || !sameAddr(rc.name, r.Client) {
		ix, ok := p.clients[r.Client]
		if !ok {
			ix = int32(len(p.clients))
			p.clients[r.Client] = ix
		}
		rc.name, rc.ix, rc.ok = r.Client, ix, true
	}
	it.proc = rc.ix
	// Tally the request's server bucket, unless it was just tallied (both trackers: a
	// request's service tracker follows from it). Adding a request again changes nothing.
	rr := recentRequest{r.Region, r.Service, r.Operation, r.Resource, false}
	slot := &p.recentReq[addrHash(r.Region, r.Service, r.Operation, r.Resource)&255]
	if !slot.same(&rr) {
		*slot = rr
		req := server.Request{Region: r.Region, Service: r.Service, Operation: r.Operation, Resource: r.Resource, Prefix: it.req.Prefix}
		svc.caps.add(&req)
		svc.opList[it.op].caps.add(&req)
		p.total.add(&req)
	}
	return nil
}

// spanError reports record r, too far from the trace's first record.
func (p *prefetcher) spanError(r *trace.Record) error {
	where := ""
	if pos, ok := p.src.(trace.Positioner); ok {
		if file, line := pos.Position(); file != "" {
			where = file + ":"
			if line > 0 {
				where += fmt.Sprintf("%d:", line)
			}
			where += " "
		}
	}
	years := math.Abs(r.Time.Sub(p.epoch).Hours()) / (365 * 24)
	if d := r.Time.Year() - p.epoch.Year(); d > 290 || d < -290 {
		years = math.Abs(float64(d))
	}
	return fmt.Errorf("simulate: %sfield \"time\": %s is %.0f years after the trace's first record (%s): a replay spans at most %s of virtual time",
		where, r.Time.UTC().Format(time.RFC3339Nano), years, p.epoch.Format(time.RFC3339), humanSeconds(time.Duration(p.maxSpan).Seconds()))
}

// next returns the next item, valid until the following call: nil and io.EOF after the last
// one, nil and a fatal error if reading failed. An item's err reports a record that was
// skipped.
func (p *prefetcher) next() (*traceItem, error) {
	for p.cur == nil || p.pos == len(p.cur.items) {
		if p.cur != nil {
			if p.cur.err != nil {
				return nil, p.cur.err
			}
			p.free <- p.cur
			p.cur = nil
		}
		b, ok := <-p.batches
		if !ok {
			return nil, io.EOF
		}
		p.cur, p.pos = b, 0
	}
	it := &p.cur.items[p.pos]
	p.pos++
	return it, nil
}

// Close stops the reading goroutine and waits for it. It may be called more than once.
func (p *prefetcher) Close() {
	p.once.Do(func() {
		close(p.done)
		for range p.batches {
		}
	})
}

// isInputError reports whether err is (or wraps) a *trace.InputError: a record skipped.
func isInputError(err error) bool {
	var ie *trace.InputError
	return errors.As(err, &ie)
}

// op returns the index of operation in region among the service's operations, numbering it
// if it is new.
func (svc *traceService) op(operation, region string, rules limiter.Rules) int32 {
	if i := svc.lastOp; i >= 0 {
		if o := &svc.opList[i].info; sameAddr(o.Operation, operation) && sameAddr(o.Region, region) {
			return i
		}
	}
	k := traceOpKey{operation, region}
	i, ok := svc.ops[k]
	if !ok {
		i = int32(len(svc.opList))
		svc.ops[traceOpKey{strings.Clone(operation), strings.Clone(region)}] = i
		svc.opList = append(svc.opList, traceOp{
			info: opInfo{Service: svc.name, Operation: strings.Clone(operation), Region: strings.Clone(region)},
			caps: newCapacityTracker(rules),
		})
	}
	svc.lastOp = i
	return i
}

// service returns the traced service whose group is gi.
func (p *prefetcher) service(gi int) *traceService {
	for _, svc := range p.services {
		if int(svc.group) == gi {
			return svc
		}
	}
	return nil
}
