package simulate_test

import (
	"context"
	"testing"

	"github.com/tollgate/tollgate/simulate"
)

// The Brooker experiment reproduces the blog's findings: exponential backoff without jitter
// does far more work and takes far longer than full jitter; equal jitter takes longer than
// full; decorrelated jitter finishes a little sooner than full but does more work. (The CLI
// runs 100 runs per point; 30 are enough for the ordering to be stable.)
func TestBrookerFindings(t *testing.T) {
	r, err := simulate.Brooker(context.Background(), simulate.BrookerConfig{Clients: []int{50, 100, 150}, Runs: 30}, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := map[[2]any]simulate.BrookerPoint{}
	for _, p := range r.Points {
		at[[2]any{p.Clients, p.Jitter}] = p
	}
	for _, n := range []int{50, 100, 150} {
		none, equal, full, dec := at[[2]any{n, "none"}], at[[2]any{n, "equal"}], at[[2]any{n, "full"}], at[[2]any{n, "decorrelated"}]
		t.Logf("%d clients: calls none %.0f equal %.0f full %.0f decorrelated %.0f; ms none %.0f equal %.0f full %.0f decorrelated %.0f",
			n, none.Calls, equal.Calls, full.Calls, dec.Calls, none.CompletionMs, equal.CompletionMs, full.CompletionMs, dec.CompletionMs)
		if none.Calls < 1.5*full.Calls || none.CompletionMs < 5*full.CompletionMs {
			t.Errorf("%d clients: no jitter (%.0f calls, %.0f ms) is not far worse than full jitter (%.0f calls, %.0f ms)",
				n, none.Calls, none.CompletionMs, full.Calls, full.CompletionMs)
		}
		if equal.CompletionMs <= full.CompletionMs {
			t.Errorf("%d clients: equal jitter (%.0f ms) is not slower than full (%.0f ms)", n, equal.CompletionMs, full.CompletionMs)
		}
		if dec.CompletionMs >= full.CompletionMs || dec.Calls <= full.Calls {
			t.Errorf("%d clients: decorrelated (%.0f calls, %.0f ms) vs full (%.0f calls, %.0f ms): want sooner but more work",
				n, dec.Calls, dec.CompletionMs, full.Calls, full.CompletionMs)
		}
	}
}
