package middleware

import (
	"math/rand/v2"
	"sync"
)

// lockedSource makes one PCG source safe for the concurrent calls of a client.
type lockedSource struct {
	mu  sync.Mutex
	src *rand.PCG
}

func (s *lockedSource) Uint64() uint64 {
	s.mu.Lock()
	v := s.src.Uint64()
	s.mu.Unlock()
	return v
}

// newLockedRand returns a *rand.Rand, safe for concurrent use, seeded with seed.
func newLockedRand(seed uint64) *rand.Rand {
	return rand.New(&lockedSource{src: rand.NewPCG(seed, seed^0x6a09e667f3bcc909)})
}
