package limiter

import (
	"sync"
	"unsafe"
)

// pbucket is a partitioned bucket: one per (scope, resource[, prefix]), kept in a shard. It is
// never copied: its key may point into its own inline array. Its hash lives in the shard's slot.
// 96 bytes (a malloc size class): the bucket's 48, and 48 for where it belongs.
type pbucket struct {
	sc     *scope
	key    string // resource followed by prefix, copied from the caller's Key (into inline)
	resLen int32
	// inline holds key when it fits: a lookup then compares bytes next to the bucket, not
	// in memory of their own elsewhere.
	inline [inlineKey]byte
	bucket
}

const inlineKey = 20

// setKey sets b's key to a copy of resource followed by prefix.
func (b *pbucket) setKey(resource, prefix string) {
	b.resLen = int32(len(resource))
	n := len(resource) + len(prefix)
	if n == 0 || n > len(b.inline) {
		b.key = joinCopy(resource, prefix)
		return
	}
	copy(b.inline[copy(b.inline[:], resource):], prefix)
	b.key = unsafe.String(&b.inline[0], n)
}

func (b *pbucket) is(sc *scope, resource, prefix string) bool {
	return b.sc == sc && int(b.resLen) == len(resource) && len(b.key) == len(resource)+len(prefix) &&
		b.key[:b.resLen] == resource && b.key[b.resLen:] == prefix
}

const (
	shardBits = 6
	numShards = 1 << shardBits
	minSlots  = 8
	// sweepPerCall is how many table slots each call that locks a shard checks for eviction.
	sweepPerCall = 2
	// sweepOnInsert is how many slots a call that creates a bucket checks, at most, to evict
	// one idle bucket: when there are idle buckets, each new one usually replaces one of them,
	// so traffic alone keeps the table from growing.
	sweepOnInsert = 32
	// sweepOnFull is how many slots are checked per shard when MaxKeys is reached.
	sweepOnFull = 64
)

// shard is one lock's worth of partitioned buckets: an open-addressing hash table with linear
// probing and backward-shift deletion, and a cursor that sweeps it a few slots per call.
type shard struct {
	mu     sync.Mutex
	slots  []slot
	n      int
	cursor int
	counts []counters // per partitioned rule (crule.pindex)
	_      [64]byte   // keep neighbouring shards' locks off this cache line
}

// slot is one place of a shard's table: a bucket and its hash, kept beside the pointer so that
// probing compares hashes without loading the buckets it passes over.
type slot struct {
	hash uint64
	b    *pbucket // nil: empty
}

func (s *shard) find(h uint64, sc *scope, resource, prefix string) *pbucket {
	if s.n == 0 {
		return nil
	}
	mask := len(s.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		sl := &s.slots[i]
		if sl.b == nil {
			return nil
		}
		if sl.hash == h && sl.b.is(sc, resource, prefix) {
			return sl.b
		}
	}
}

func (s *shard) insert(h uint64, b *pbucket) {
	if (s.n+1)*4 > len(s.slots)*3 {
		s.resize(max(minSlots, len(s.slots)*2))
	}
	s.place(slot{hash: h, b: b})
	s.n++
}

func (s *shard) place(sl slot) {
	mask := len(s.slots) - 1
	i := int(sl.hash) & mask
	for s.slots[i].b != nil {
		i = (i + 1) & mask
	}
	s.slots[i] = sl
}

func (s *shard) resize(size int) {
	old := s.slots
	s.slots = make([]slot, size)
	for _, sl := range old {
		if sl.b != nil {
			s.place(sl)
		}
	}
	s.cursor = 0
}

// remove deletes the bucket in slot i, shifting later members of its probe run back so that
// lookups never need tombstones.
func (s *shard) remove(i int) {
	mask := len(s.slots) - 1
	for j := (i + 1) & mask; s.slots[j].b != nil; j = (j + 1) & mask {
		home := int(s.slots[j].hash) & mask
		// The entry at j may move to i unless its home lies cyclically in (i, j].
		if (i < j && (home <= i || home > j)) || (i > j && home <= i && home > j) {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = slot{}
	s.n--
	if len(s.slots) > minSlots && s.n*8 < len(s.slots) {
		s.resize(max(minSlots, len(s.slots)/4))
	}
}

// sweep checks up to budget slots from the cursor and evicts the buckets evictable at t
// (evictable; pressure relaxes it when MaxKeys is reached). It stops after the first eviction
// when one is set. It returns the number evicted. Caller holds s.mu.
func (s *shard) sweep(l *Limiter, t int64, budget int, pressure, one bool) int {
	evicted := 0
	for ; budget > 0 && s.n > 0; budget-- {
		mask := len(s.slots) - 1
		i := s.cursor & mask
		b := s.slots[i].b
		if b == nil || !l.evictable(&b.bucket, b.sc.rule, t, pressure) {
			s.cursor = i + 1
			continue
		}
		// Leave the cursor on i: remove may shift another bucket into it.
		c := &s.counts[b.sc.rule.pindex]
		c.keys--
		c.evicted++
		if b.rate != b.sc.rule.rate32 {
			c.learned--
			c.learnedRate -= float64(b.rate)
		}
		l.live.Add(-1)
		s.remove(i)
		evicted++
		if one {
			break
		}
	}
	return evicted
}

// evictable reports whether dropping b at t is unobservable, or nearly: it is full again at t
// and has been unused for the idle TTL, so a new bucket created in its place would admit the
// same calls — only a rate it learned is forgotten (the key starts again from its rule's, as
// a new key does). Under pressure (MaxKeys reached) a full bucket that has learned nothing goes
// at once, idle or not: a new one would be identical.
func (l *Limiter) evictable(b *bucket, r *crule, t int64, pressure bool) bool {
	if !b.full(t, r) {
		return false
	}
	if t-b.last >= int64(l.cfg.idleTTL) {
		return true
	}
	return pressure && b.rate == r.rate32
}
