package fleet

import (
	"testing"
	"time"
)

// TestAccountTinyShareRefuses: a lease whose share is so small that a call's tokens would take
// longer to refill than a Duration can say is a wait past every bound: the call is refused
// (max wait) or queued for a later lease, never admitted with an overflowed, negative delay.
func TestAccountTinyShareRefuses(t *testing.T) {
	for _, share := range []float64{1e-14, 1e-300} {
		a := NewAccount("p", Spec{Rate: 100, Burst: 100}, Policy{})
		now := t0
		if d := a.Reserve(now, 1, time.Second); !d.NeedLease {
			t.Fatalf("first call: %+v, want NeedLease", d)
		}
		q := a.Begin(now)
		a.Complete(now, q.ReqID, Reply{Seq: 1, Epoch: "e", Share: share, Burst: 1, TTL: 2e6, Live: 8, Rate: 100})
		if d := a.Reserve(now, 1, time.Second); d.OK || d.Delay < 0 || d.Reason != RefusedMaxWait || d.Wait < time.Second {
			t.Errorf("share %g, max wait 1 s: %+v, want refused for max wait", share, d)
		}
		if d := a.Reserve(now, 1, -1); d.OK || d.Delay < 0 || !d.Queued {
			t.Errorf("share %g, no max wait: %+v, want queued for a later lease", share, d)
		}
	}
}
