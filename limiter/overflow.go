package limiter

import (
	"sync"
	"sync/atomic"
)

// overflowLaneCount is the number of overflow lanes per rule.
const overflowLaneCount = 64

// overflowLanes are where a rule's partitioned keys go when they find no room (MaxKeys reached
// and nothing evictable, or more than maxRoutes routes): overflowLaneCount buckets of the rule's
// shape, a key charged to the lane its hash picks. A key never gets more than its own quota (a
// lane is one bucket of the rule's size, shared by the keys hashed to it), and a new key
// competes only with the few keys that share its lane instead of with every key that found no
// room — one shared bucket starved new keys (all overflowed keys together got one key's rate).
// The lanes are allocated at the rule's first overflow.
type overflowLanes struct {
	mu    sync.Mutex
	lanes atomic.Pointer[[overflowLaneCount]pinnedBucket]
}

// lane returns the lane for hash h, allocating the lanes if needed.
func (o *overflowLanes) lane(r *crule, h uint64) *pinnedBucket {
	p := o.lanes.Load()
	if p == nil {
		o.mu.Lock()
		if p = o.lanes.Load(); p == nil {
			p = new([overflowLaneCount]pinnedBucket)
			for i := range p {
				p[i].overflow = true
				p[i].b.init(r, -maxTicks)
			}
			o.lanes.Store(p)
		}
		o.mu.Unlock()
	}
	return &p[(h>>32)%overflowLaneCount]
}

// peek returns the lane for hash h, or nil when the rule has never overflowed.
func (o *overflowLanes) peek(h uint64) *pinnedBucket {
	p := o.lanes.Load()
	if p == nil {
		return nil
	}
	return &p[(h>>32)%overflowLaneCount]
}

// all returns every lane, or nil.
func (o *overflowLanes) all() []pinnedBucket {
	p := o.lanes.Load()
	if p == nil {
		return nil
	}
	return p[:]
}
