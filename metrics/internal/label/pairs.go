package label

import (
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultMaxPairs is the default cap on distinct (service, operation) pairs.
const DefaultMaxPairs = 1000

// Pair is a (service, operation) label pair, already folded by Name and Operation.
type Pair struct{ Service, Operation string }

// Pairs caches one T per (service, operation) pair — typically the pre-resolved series of that
// pair — so the hot path finds them with one lock-free map lookup and no allocation. Past Max
// distinct pairs, every new pair shares the T of (Other, Other).
type Pairs[T any] struct {
	max   int
	build func(Pair) *T

	m     atomic.Pointer[map[Pair]*T] // copy-on-write: readers never lock
	mu    sync.Mutex                  // serialises writers
	other *T
}

// NewPairs returns a cache of at most max pairs (≤ 0 means DefaultMaxPairs) that builds a T for a
// new pair with build.
func NewPairs[T any](max int, build func(Pair) *T) *Pairs[T] {
	if max <= 0 {
		max = DefaultMaxPairs
	}
	p := &Pairs[T]{max: max, build: build}
	m := map[Pair]*T{}
	p.m.Store(&m)
	return p
}

// Get returns the T of (service, operation), folding both with Name and Operation. After the
// pair's first use it does not allocate.
func (p *Pairs[T]) Get(service, operation string) *T {
	key := Pair{Name(service), Operation(operation)}
	if t, ok := (*p.m.Load())[key]; ok {
		return t
	}
	return p.slow(key)
}

func (p *Pairs[T]) slow(key Pair) *T {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := *p.m.Load()
	if t, ok := old[key]; ok {
		return t
	}
	if len(old) >= p.max {
		if p.other == nil {
			p.other = p.build(Pair{Other, Other})
		}
		return p.other
	}
	// Keep our own copies: the caller's strings may be slices of a larger buffer (a request).
	key = Pair{strings.Clone(key.Service), strings.Clone(key.Operation)}
	t := p.build(key)
	m := make(map[Pair]*T, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[key] = t
	p.m.Store(&m)
	return t
}

// Len returns the number of distinct pairs cached (not counting the overflow pair).
func (p *Pairs[T]) Len() int { return len(*p.m.Load()) }
