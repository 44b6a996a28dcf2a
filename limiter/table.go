package limiter

import (
	"sync"
	"time"
)

// pbucket is a partitioned bucket: one per (scope, resource[, prefix]), kept in a shard.
type pbucket struct {
	bucket
	hash   uint64
	sc     *scope
	key    string // resource followed by prefix, copied from the caller's Key
	resLen int32
}

func (b *pbucket) is(h uint64, sc *scope, resource, prefix string) bool {
	return b.hash == h && b.sc == sc && int(b.resLen) == len(resource) && len(b.key) == len(resource)+len(prefix) &&
		b.key[:b.resLen] == resource && b.key[b.resLen:] == prefix
}

const (
	shardBits = 6
	numShards = 1 << shardBits
	minSlots  = 8
	// sweepPerCall is how many table slots each call that locks a shard checks for eviction.
	sweepPerCall = 2
	// sweepOnFull is how many slots are checked per shard when MaxKeys is reached.
	sweepOnFull = 64
)

// shard is one lock's worth of partitioned buckets: an open-addressing hash table with linear
// probing and backward-shift deletion, and a cursor that sweeps it a few slots per call.
type shard struct {
	mu     sync.Mutex
	slots  []*pbucket
	n      int
	cursor int
	counts []counters // per rule index
	_      [64]byte   // keep neighbouring shards' locks off this cache line
}

func (s *shard) find(h uint64, sc *scope, resource, prefix string) *pbucket {
	if s.n == 0 {
		return nil
	}
	mask := len(s.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		b := s.slots[i]
		if b == nil {
			return nil
		}
		if b.is(h, sc, resource, prefix) {
			return b
		}
	}
}

func (s *shard) insert(b *pbucket) {
	if (s.n+1)*4 > len(s.slots)*3 {
		s.resize(max(minSlots, len(s.slots)*2))
	}
	s.place(b)
	s.n++
}

func (s *shard) place(b *pbucket) {
	mask := len(s.slots) - 1
	i := int(b.hash) & mask
	for s.slots[i] != nil {
		i = (i + 1) & mask
	}
	s.slots[i] = b
}

func (s *shard) resize(size int) {
	old := s.slots
	s.slots = make([]*pbucket, size)
	for _, b := range old {
		if b != nil {
			s.place(b)
		}
	}
	s.cursor = 0
}

// remove deletes the bucket in slot i, shifting later members of its probe run back so that
// lookups never need tombstones.
func (s *shard) remove(i int) {
	mask := len(s.slots) - 1
	for j := (i + 1) & mask; s.slots[j] != nil; j = (j + 1) & mask {
		home := int(s.slots[j].hash) & mask
		// The entry at j may move to i unless its home lies cyclically in (i, j].
		if (i < j && (home <= i || home > j)) || (i > j && home <= i && home > j) {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = nil
	s.n--
	if len(s.slots) > minSlots && s.n*8 < len(s.slots) {
		s.resize(max(minSlots, len(s.slots)/4))
	}
}

// sweep checks up to budget slots from the cursor and evicts idle, full buckets. It returns the
// number evicted. Caller holds s.mu.
func (s *shard) sweep(l *Limiter, now time.Time, budget int) int {
	evicted := 0
	for ; budget > 0 && s.n > 0; budget-- {
		mask := len(s.slots) - 1
		i := s.cursor & mask
		b := s.slots[i]
		if b == nil || !l.evictable(&b.bucket, b.sc.rule, now) {
			s.cursor = i + 1
			continue
		}
		// Leave the cursor on i: remove may shift another bucket into it.
		c := &s.counts[b.sc.rule.index]
		c.keys--
		c.evicted++
		l.live.Add(-1)
		s.remove(i)
		evicted++
	}
	return evicted
}

// evictable reports whether dropping b at now is unobservable: it has been unused for the idle
// TTL and is full again, so a new bucket created in its place would be identical.
func (l *Limiter) evictable(b *bucket, r *crule, now time.Time) bool {
	if now.Sub(b.last) < l.cfg.idleTTL {
		return false
	}
	return b.lim.TokensAt(now) >= float64(r.Burst)
}
