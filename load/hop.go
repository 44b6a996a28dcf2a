package load

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// hopTransport is a scenario group's network: every request travels one hop to the server and
// its answer one hop back, each |N(rtt/2, jitter)| as the simulator draws them, in real time. A
// context that ends during a hop cancels the attempt in flight there: a request still on its way
// never reaches the server; an answer on its way back is dropped.
type hopTransport struct {
	next     http.RoundTripper
	mean, sd float64 // nanoseconds

	mu  sync.Mutex
	rng *rand.Rand
}

func newHopTransport(next http.RoundTripper, rtt, jitter time.Duration, seed uint64) *hopTransport {
	return &hopTransport{next: next, mean: float64(rtt) / 2, sd: float64(jitter), rng: rand.New(rand.NewPCG(seed, 0x686f70))}
}

func (h *hopTransport) hop() time.Duration {
	if h.sd == 0 {
		return time.Duration(h.mean)
	}
	h.mu.Lock()
	d := math.Abs(h.rng.NormFloat64()*h.sd + h.mean)
	h.mu.Unlock()
	return time.Duration(d)
}

// RoundTrip sends req after a hop and returns its answer after another.
func (h *hopTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := sleepCtx(ctx, h.hop()); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := h.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if err := sleepCtx(ctx, h.hop()); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// CloseIdleConnections closes the next transport's idle connections.
func (h *hopTransport) CloseIdleConnections() {
	if c, ok := h.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// sleepCtx waits d, or until ctx is done (its error).
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
